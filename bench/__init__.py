"""Benchmarks of spire-notify side by side with its peers: ``python -m bench [--smoke]``.

Every figure is a ratio against a baseline measured in the same run, on the same machine and
database, because absolute times on a shared machine are noise.
"""
