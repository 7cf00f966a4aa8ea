"""The worker: claim ready rows and due digests, load, skip, render, hand over, record, retry."""
