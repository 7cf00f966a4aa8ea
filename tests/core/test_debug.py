"""Django's error page (DEBUG) and error emails show no NOTIFY_BACKENDS secret.

The page is Django's real technical 500 response, rendered through the test client from a view
that raises; the error email is the one Django's default logging sends to ``ADMINS``.
"""

import html

import pytest
from django.conf import settings
from django.core import mail
from django.core.checks import Warning
from django.test import Client, override_settings
from django.urls import path
from django.views.debug import get_default_exception_reporter_filter
from hypothesis import given
from hypothesis import strategies as st

from spire_notify.checks import check_exception_reporter_filter
from spire_notify.debug import MaskingExceptionReporterFilter, mask_urls_in
from spire_notify.handler import notify_backends
from spire_notify.masking import mask_url

WEBHOOK_URL = "https://hooks.example.com/notify?token=hook-token-7f3a9c"
APPRISE_URLS = [
    "ntfy://ntfy.sh/team-topic-5e8d1b",
    "json://hooks.example.com/x?+Authorization=Bearer%20bearer-2c4e",
]
WEBHOOK_SECRET = "whsec_c2VjcmV0LWtleS1vZi10aGUtZGVidWctcGFnZS0x"
VAPID_PRIVATE_KEY = "vapid-private-key-9b1d"
SECRETS = ["hook-token-7f3a9c", "team-topic-5e8d1b", "bearer-2c4e", WEBHOOK_SECRET, VAPID_PRIVATE_KEY]

NOTIFY_BACKENDS = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "ops-webhook": {
        "BACKEND": "spire_notify.channels.webhook.backend.WebhookBackend",
        "OPTIONS": {"url": WEBHOOK_URL, "secret": WEBHOOK_SECRET},
    },
    "team": {
        "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
        "OPTIONS": {"urls": APPRISE_URLS},
    },
    "push": {
        "BACKEND": "spire_notify.channels.webpush.backend.WebPushBackend",
        "OPTIONS": {"vapid_private_key": VAPID_PRIVATE_KEY, "vapid_subject": "mailto:ops@example.com"},
    },
}
MASKING_FILTER = "spire_notify.debug.MaskingExceptionReporterFilter"
DJANGO_FILTER = "django.views.debug.SafeExceptionReporterFilter"


@pytest.fixture(autouse=True)
def reporter_filter_built_afresh():
    """Django builds the default filter once per process (``lru_cache``) and keeps it when
    ``override_settings`` changes DEFAULT_EXCEPTION_REPORTER_FILTER: an error page rendered by
    any earlier test would leave Django's own filter in place here."""
    get_default_exception_reporter_filter.cache_clear()
    yield
    get_default_exception_reporter_filter.cache_clear()


def failing_view(request):
    raise RuntimeError("the view failed")


def misconfigured_backend_view(request):
    """Builds a backend whose options have a typo: the traceback runs through spire-notify's
    frames, whose local variables hold the options."""
    notify_backends.create_backend("ops-webhook")


urlpatterns = [path("fails/", failing_view), path("misconfigured/", misconfigured_backend_view)]


def error_page(accept, url="/fails/"):
    response = Client(raise_request_exception=False).get(url, headers={"accept": accept})
    assert response.status_code == 500
    return response.content.decode()


@override_settings(
    DEBUG=True,
    ROOT_URLCONF=__name__,
    NOTIFY_BACKENDS=NOTIFY_BACKENDS,
    DEFAULT_EXCEPTION_REPORTER_FILTER=MASKING_FILTER,
)
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_debug_error_page_shows_no_secret_of_notify_backends(accept):
    page = error_page(accept)

    assert "RuntimeError" in page and "NOTIFY_BACKENDS" in page
    assert [secret for secret in SECRETS if secret in page] == []
    for url in [WEBHOOK_URL, *APPRISE_URLS]:
        assert mask_url(url) in page
    # What is not a secret stays readable: a page to debug with.
    assert "spire_notify.channels.apprise.backend.AppriseBackend" in page


@override_settings(
    DEBUG=True,
    ROOT_URLCONF=__name__,
    NOTIFY_BACKENDS=NOTIFY_BACKENDS
    | {
        "ops-webhook": {
            **NOTIFY_BACKENDS["ops-webhook"],
            "OPTIONS": {"url": WEBHOOK_URL, "secret": WEBHOOK_SECRET, "retries": 3},
        }
    },
    DEFAULT_EXCEPTION_REPORTER_FILTER=MASKING_FILTER,
)
@pytest.mark.parametrize("accept", ["text/html", "text/plain"])
def test_the_local_variables_of_spire_notify_frames_show_no_secret(accept):
    page = html.unescape(error_page(accept, "/misconfigured/"))

    assert "NOTIFY_BACKENDS['ops-webhook']: unknown option 'retries'" in page
    assert "create_backend" in page and "options" in page
    assert [secret for secret in SECRETS if secret in page] == []
    assert mask_url(WEBHOOK_URL) in page


@override_settings(
    DEBUG=False,
    ROOT_URLCONF=__name__,
    NOTIFY_BACKENDS=NOTIFY_BACKENDS,
    DEFAULT_EXCEPTION_REPORTER_FILTER=MASKING_FILTER,
)
def test_the_error_email_to_admins_shows_no_secret_of_notify_backends():
    error_page("text/html")

    [email] = mail.outbox
    assert email.to == ["dev@example.com"]
    assert "RuntimeError" in email.body and "NOTIFY_BACKENDS" in email.body
    assert [secret for secret in SECRETS if secret in email.body] == []
    assert mask_url(WEBHOOK_URL) in email.body


@override_settings(NOTIFY_BACKENDS=NOTIFY_BACKENDS, DEFAULT_EXCEPTION_REPORTER_FILTER=DJANGO_FILTER)
def test_check_warns_while_the_error_page_would_show_the_urls():
    assert check_exception_reporter_filter() == [
        Warning(
            f"DEFAULT_EXCEPTION_REPORTER_FILTER is {DJANGO_FILTER!r}, which shows the URLs of "
            f"NOTIFY_BACKENDS[{alias!r}] in full on Django's DEBUG error page and in error "
            "emails to ADMINS.",
            hint=f"Set DEFAULT_EXCEPTION_REPORTER_FILTER = {MASKING_FILTER!r}, or make your own "
            "filter a subclass of it.",
            id="spire_notify.W031",
        )
        for alias in ("ops-webhook", "team")
    ]


class ProjectMaskingFilter(MaskingExceptionReporterFilter):
    """A project's own filter, built on ours as the check's hint says."""


@pytest.mark.parametrize(
    ("notify_backends", "reporter_filter"),
    [
        (NOTIFY_BACKENDS, MASKING_FILTER),
        (NOTIFY_BACKENDS, "tests.core.test_debug.ProjectMaskingFilter"),
        ({"app": NOTIFY_BACKENDS["app"], "push": NOTIFY_BACKENDS["push"]}, DJANGO_FILTER),
    ],
    ids=["our-filter", "a-subclass-of-ours", "no-url-to-show"],
)
def test_check_is_quiet_when_nothing_would_show(notify_backends, reporter_filter):
    with override_settings(
        NOTIFY_BACKENDS=notify_backends, DEFAULT_EXCEPTION_REPORTER_FILTER=reporter_filter
    ):
        assert check_exception_reporter_filter() == []


@override_settings()
def test_check_is_quiet_with_the_default_backends():
    del settings.NOTIFY_BACKENDS
    assert check_exception_reporter_filter() == []


urls = st.builds(
    "{}://{}".format, st.from_regex(r"[a-z][a-z0-9+.-]{0,9}", fullmatch=True), st.text(min_size=1)
)
options = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | urls,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


def leaves(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


def is_url(leaf):
    return isinstance(leaf, str) and "://" in leaf


@given(options)
def test_every_url_is_masked_and_everything_else_kept(value):
    masked = mask_urls_in(value)

    assert type(masked) is type(value)
    assert len(leaves(masked)) == len(leaves(value))
    assert [leaf for leaf in leaves(masked) if not is_url(leaf)] == [
        leaf for leaf in leaves(value) if not is_url(leaf)
    ]
    assert [leaf.partition("://")[2][:4] for leaf in leaves(masked) if is_url(leaf)] == [
        "••••" for leaf in leaves(value) if is_url(leaf)
    ]
