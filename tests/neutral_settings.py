"""The test settings of a project without the help desk: spire-notify's pages must show no trace
of it (tests/core/test_neutral_layout.py runs tests/core/neutral_layout_scenario.py on them)."""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "spire_notify.helpdesk"]  # noqa: F405
ROOT_URLCONF = "tests.neutral_urls"
# Channels that add to the pages: the inbox, the email previews, the user's own Apprise
# addresses on the channels page (the scenario adds Web Push, which needs a key made there).
NOTIFY_BACKENDS = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
    "chat": {"BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend"},
}
DEFAULT_FROM_EMAIL = "notifications@example.com"
