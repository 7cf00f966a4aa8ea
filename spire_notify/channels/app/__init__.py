"""The in-app inbox: the app backend, the read state of each notification, the inbox pages."""
