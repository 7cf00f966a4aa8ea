"""Settings of the worker subprocess of tests/worker/test_user_url_worker.py: each user's own Apprise
URLs, and the default that users' URLs reach public addresses only."""

from tests.delivery_settings import *  # noqa: F403

# The test process writes its rows with the same (test_user_url_worker.CHAT_BACKENDS).
NOTIFY_BACKENDS = {
    "chat": {
        "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
        "OPTIONS": {"domain": "desk.example.com", "timeout": 5},
    },
}
NOTIFY_ALLOWED_PRIVATE_NETWORKS = []
