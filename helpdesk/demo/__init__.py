"""A demo help desk site: ``python -m helpdesk.demo``."""
