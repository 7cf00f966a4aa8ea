"""Swappable notification backends, chosen per channel in ``NOTIFY_BACKENDS``."""
