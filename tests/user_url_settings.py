"""Settings of the worker subprocess of tests/worker/test_user_url_worker.py: each user's own Apprise
URLs, and the default that users' URLs reach public addresses only."""

from tests.delivery_settings import *  # noqa: F403

# The test process writes its rows with the same chat channel (test_user_url_worker.CHAT_BACKENDS);
# the app and email channels stay, as the help desk's Notifiers send on them (spire_notify.E113).
NOTIFY_BACKENDS = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
    "chat": {
        "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
        "OPTIONS": {"domain": "desk.example.com", "timeout": 5},
    },
}
NOTIFY_ALLOWED_PRIVATE_NETWORKS = []
