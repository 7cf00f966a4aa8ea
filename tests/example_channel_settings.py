"""The test settings with the example SMS channel added as a project adds it: one line in
INSTALLED_APPS and its NOTIFY_BACKENDS entry (tests/channels/test_example_channel.py)."""

from tests.settings import *  # noqa: F403

# --8<-- [start:settings]
INSTALLED_APPS += ["tests.example_channel"]  # noqa: F405
NOTIFY_BACKENDS = {
    "app": {"BACKEND": "spire_notify.backends.app.AppBackend"},
    "email": {"BACKEND": "spire_notify.backends.email.EmailBackend"},
    "sms": {
        "BACKEND": "tests.example_channel.backend.SmsBackend",
        "OPTIONS": {"url": "https://sms.example.com/send"},
    },
}
# --8<-- [end:settings]
