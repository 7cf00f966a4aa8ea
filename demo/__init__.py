"""A demo help desk site: ``python -m demo``."""
