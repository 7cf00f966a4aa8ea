"""Chat and 100+ services through Apprise: the backend, a user's own Apprise URLs and their page."""
