"""The Apprise backend against a real HTTP server on 127.0.0.1, reached through Apprise's own
``json://`` and ``ntfy://`` services."""

import contextlib
import json
import logging
import time
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from apprise.conversion.format import markdown_to_html
from django.contrib.auth import get_user_model
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from lxml import html

from spire_notify import Message, Recipient, notify
from spire_notify.backends.base import Delivery, Outcome, OutcomeStatus
from spire_notify.channels.apprise import backend as apprise_module
from spire_notify.channels.apprise.backend import AppriseBackend, escape_markdown, user_url_refusal
from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.models import Notification
from spire_notify.testing import BackendContract
from spire_notify.worker.process import process_notifications
from tests.support.local_http import RecordingServer, Reply, SilentServer

TICKET = Message(
    event="desk.ticket.new",  # a type of its own: the help desk's types default to app and email
    title="New Help Desk Ticket #7",
    body="Priority: High - Purpose: App",
    path="/help_desk/page/7/detail/",
)
LINK = "https://desk.example.com/help_desk/page/7/detail/"


@pytest.fixture
def receiver():
    with RecordingServer() as server:
        yield server


def team_settings(*urls, **options):
    return {
        "team": {
            "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
            "OPTIONS": {"urls": list(urls), "domain": "desk.example.com", **options},
        }
    }


def personal_settings(**options):
    return {
        "chat": {
            "BACKEND": "spire_notify.channels.apprise.backend.AppriseBackend",
            "OPTIONS": {"domain": "desk.example.com", **options},
        }
    }


def nonzero(counts):
    return {status: count for status, count in counts.items() if count}


def bodies(receiver, path):
    return [json.loads(request.body) for request in receiver.received if request.path == path]


def test_renders_title_short_body_and_absolute_link_as_text_and_markdown():
    backend = AppriseBackend(alias="team", urls=[], domain="desk.example.com")

    rendered = backend.render(TICKET, Recipient(user_id=1))

    assert rendered.body == "Priority: High - Purpose: App"
    assert rendered.url == LINK
    assert rendered.content.title == "New Help Desk Ticket #7"
    assert rendered.content.text == f"Priority: High - Purpose: App\n\n{LINK}"
    assert rendered.content.markdown == f"Priority: High - Purpose: App\n\n<{LINK}>"
    assert f'<a href="{LINK}">{LINK}</a>' in markdown_to_html(rendered.content.markdown)


def test_the_link_takes_the_current_sites_domain(db):
    from django.contrib.sites.models import Site

    Site.objects.filter(pk=1).update(domain="helpdesk.example.org")
    Site.objects.clear_cache()

    rendered = AppriseBackend(alias="team", urls=[]).render(TICKET, Recipient(user_id=1))

    assert rendered.url == "https://helpdesk.example.org/help_desk/page/7/detail/"


def test_a_long_body_is_cut_to_one_chat_line():
    message = Message(event="e", title="T", body="word\n" * 200)

    rendered = AppriseBackend(alias="team", urls=[], domain="x.example").render(message, Recipient(user_id=1))

    assert "\n" not in rendered.body
    assert len(rendered.body) == 280
    assert rendered.body.endswith("…")


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=80))
def test_escaped_markdown_renders_as_the_text_itself(text):
    line = " ".join(text.split())

    rendered_html = markdown_to_html(escape_markdown(line))

    assert html.fromstring(f"<div>{rendered_html}</div>").text_content() == line


@pytest.mark.django_db
def test_bulk_mode_posts_once_per_message_for_three_recipients(receiver, make_user):
    users = [make_user(name) for name in ("ada", "grace", "linus")]
    urls = [f"json://{receiver.origin}/team-hook", f"ntfy://{receiver.origin}/helpdesk-alerts"]
    with override_settings(NOTIFY_BACKENDS=team_settings(*urls)):
        notify(TICKET, users, channels=["team"])
        counts = nonzero(process_notifications())

    assert counts == {"sent": 3}
    assert sorted(Notification.objects.values_list("status", flat=True)) == ["sent"] * 3
    assert sorted(request.path for request in receiver.received) == ["/", "/team-hook"]
    assert bodies(receiver, "/team-hook") == [
        {
            "version": "1.0",
            "title": "New Help Desk Ticket #7",
            "message": f"Priority: High - Purpose: App\n\n{LINK}",
            "attachments": [],
            "type": "info",
        }
    ]
    [ntfy] = bodies(receiver, "/")
    assert ntfy["topic"] == "helpdesk-alerts"
    assert ntfy["title"] == "New Help Desk Ticket #7"
    assert ntfy["message"] == f"Priority: High - Purpose: App\n\n{LINK}"


@pytest.mark.django_db
def test_a_failing_service_fails_every_row_of_the_message_temporarily(receiver, make_user):
    receiver.replies["/down"] = Reply(status=503)
    users = [make_user(name) for name in ("ada", "grace")]
    with override_settings(NOTIFY_BACKENDS=team_settings(f"json://{receiver.origin}/down")):
        notify(TICKET, users, channels=["team"])
        counts = nonzero(process_notifications())

    assert counts == {"errored": 2}
    assert len(receiver.received) == 1
    errors = set(Notification.objects.values_list("last_error", flat=True))
    assert len(errors) == 1
    assert errors.pop() == "Apprise: JSON (json://••••down) failed"


def test_bulk_mode_withholds_the_message_and_the_rest_when_the_guard_refuses(receiver):
    backend = AppriseBackend(alias="team", urls=[f"json://{receiver.origin}/hook"], domain="x.example")
    first = backend.render(TICKET, Recipient(user_id=1))
    second = backend.render(Message(event="e", title="Another"), Recipient(user_id=1))
    deliveries = [
        Delivery(notification=SimpleNamespace(pk=1), rendered=first),
        Delivery(notification=SimpleNamespace(pk=2), rendered=first),
        Delivery(notification=SimpleNamespace(pk=3), rendered=second),
    ]

    outcomes = backend.send(
        deliveries, guard=lambda delivery: "stopping" if delivery.notification.pk == 3 else None
    )

    assert outcomes == [Outcome.success(), Outcome.success(), Outcome.not_sent("stopping")]
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_per_user_mode_posts_to_each_users_own_urls(receiver, make_user):
    ada, grace, linus = (make_user(name) for name in ("ada", "grace", "linus"))
    AppriseAddress.objects.create(user=ada, url=f"ntfy://{receiver.origin}/ada-phone")
    AppriseAddress.objects.create(user=ada, url=f"json://{receiver.origin}/ada-hook")
    AppriseAddress.objects.create(user=grace, url=f"json://{receiver.origin}/grace-hook")
    # A project that lets its users add generic JSON hooks says so.
    with override_settings(NOTIFY_BACKENDS=personal_settings(), NOTIFY_APPRISE_USER_SCHEMES=["ntfy", "json"]):
        notify(TICKET, {ada: ["chat"], grace: ["chat"], linus: ["chat"], "guest@example.com": ["chat"]})
        counts = nonzero(process_notifications())

    assert counts == {"sent": 2, "skipped": 1}
    assert Notification.objects.get(user=linus).last_error == "the user has no Apprise address"
    assert not Notification.objects.filter(user=None).exists()  # per-user mode reaches accounts only
    assert sorted(request.path for request in receiver.received) == ["/", "/ada-hook", "/grace-hook"]
    assert bodies(receiver, "/")[0]["topic"] == "ada-phone"


@pytest.mark.django_db
@pytest.mark.parametrize("users", [1, 4])
def test_per_user_mode_loads_the_urls_of_a_whole_batch_in_one_query(
    users, receiver, make_user, django_assert_num_queries
):
    backend = AppriseBackend(alias="chat", domain="desk.example.com")
    rendered = backend.render(TICKET, Recipient(user_id=1))
    deliveries = []
    for number in range(users):
        user = make_user(f"user{number}")
        AppriseAddress.objects.create(user=user, url=f"ntfy://{receiver.origin}/user{number}-phone")
        AppriseAddress.objects.create(user=user, url=f"ntfy://{receiver.origin}/user{number}-desk")
        deliveries.append(
            Delivery(notification=SimpleNamespace(pk=number + 1, user_id=user.pk), rendered=rendered)
        )
    nobody = make_user("nobody")  # no address: skipped, from the same query
    deliveries.append(
        Delivery(notification=SimpleNamespace(pk=users + 1, user_id=nobody.pk), rendered=rendered)
    )

    with django_assert_num_queries(1):
        outcomes = backend.send(deliveries)

    assert outcomes == [Outcome.success()] * users + [Outcome.skipped("the user has no Apprise address")]
    assert len(receiver.received) == 2 * users


@pytest.mark.django_db
def test_bulk_mode_reads_nothing_from_the_database(receiver, django_assert_num_queries):
    backend = AppriseBackend(alias="team", urls=[f"json://{receiver.origin}/hook"], domain="x.example")
    rendered = backend.render(TICKET, Recipient(user_id=1))
    deliveries = [Delivery(notification=SimpleNamespace(pk=pk), rendered=rendered) for pk in (1, 2, 3)]

    with django_assert_num_queries(0):
        outcomes = backend.send(deliveries)

    assert outcomes == [Outcome.success()] * 3
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_a_url_apprise_rejects_fails_the_row_for_good(receiver, make_user):
    ada = make_user("ada")
    # Saved before an upgrade dropped the service, say: the form would refuse it today.
    AppriseAddress.objects.create(user=ada, url="nosuchservice://token-abcdef-0123456789")
    with override_settings(NOTIFY_BACKENDS=personal_settings()):
        notify(TICKET, {ada: ["chat"]})
        counts = nonzero(process_notifications())

    assert counts == {"failed": 1}
    assert Notification.objects.get().last_error == "Apprise rejects nosuchservice://••••6789"


def test_a_service_that_does_not_answer_in_time_is_a_temporary_failure(receiver):
    receiver.replies["/slow"] = Reply(delay=5)
    backend = AppriseBackend(
        alias="team", urls=[f"json://{receiver.origin}/slow"], timeout=1, domain="x.example"
    )
    rendered = backend.render(TICKET, Recipient(user_id=1))

    started = time.monotonic()
    [outcome] = backend.send([Delivery(notification=SimpleNamespace(pk=1), rendered=rendered)])

    assert time.monotonic() - started < 3
    assert outcome.status is OutcomeStatus.TEMPORARY
    assert outcome.error.startswith("Apprise: JSON")


def test_checks_name_a_missing_extra_and_bad_urls(monkeypatch):
    bad = AppriseBackend(alias="team", urls=["slack://T1/B1/C1", "nosuchservice://secret-token-1234"])
    assert [(error.id, error.msg) for error in bad.check()] == [
        ("spire_notify.E052", "NOTIFY_BACKENDS['team']: Apprise rejects the URL nosuchservice://••••1234.")
    ]
    assert [error.id for error in AppriseBackend(alias="team", urls="slack://T1/B1/C1").check()] == [
        "spire_notify.E051"
    ]
    assert [error.id for error in AppriseBackend(alias="team", urls=[]).check()] == ["spire_notify.E051"]
    monkeypatch.setattr(apprise_module, "apprise", None)
    assert [(error.id, error.hint) for error in AppriseBackend(alias="team").check()] == [
        ("spire_notify.E050", "pip install 'spire-notify[apprise]'")
    ]


@contextlib.contextmanager
def closed_port_urls(scheme="json"):
    with RecordingServer() as closed:
        origin = closed.origin
    yield {"urls": [f"{scheme}://{origin}/hook"]}


class TestAppriseBulkContract(BackendContract):
    backend_class = AppriseBackend
    options = {"urls": ["json://127.0.0.1/unused"], "domain": "example.com"}

    @contextlib.contextmanager
    def working_transport(self):
        with RecordingServer() as server:
            yield {"urls": [f"json://{server.origin}/hook"]}

    def broken_transport(self):
        return closed_port_urls()


@pytest.mark.django_db
class TestApprisePerUserContract(BackendContract):
    backend_class = AppriseBackend
    options = {"domain": "example.com"}

    recipients = []

    def make_recipients(self):
        return self.recipients

    def make_notification(self, pk, recipient):
        return SimpleNamespace(pk=pk, user_id=recipient.user_id)

    def users_with_urls(self, urls):
        self.recipients = []
        for name in ("ada", "grace", "linus"):
            user = get_user_model().objects.create_user(name)
            AppriseAddress.objects.create(user=user, url=urls[0])
            self.recipients.append(Recipient(user_id=user.pk))

    @contextlib.contextmanager
    def working_transport(self):
        with RecordingServer() as server:
            if self.recipients:
                AppriseAddress.objects.update(url=f"ntfy://{server.origin}/topic")
            else:
                self.users_with_urls([f"ntfy://{server.origin}/topic"])
            yield {}

    @contextlib.contextmanager
    def broken_transport(self):
        with closed_port_urls("ntfy") as overrides:
            self.users_with_urls(overrides["urls"])
            yield {}


# -- users' URLs may not reach internal hosts (issue 18, item 2) ---------------------------


@pytest.fixture
def internal_host():
    """An internal service the site's network can reach and its users must not."""
    with RecordingServer() as server:
        yield server


def forged_delete(origin):
    return f"json://{origin}/internal/admin/delete-everything?method=DELETE&+X-Internal-Auth=forged"


def deliver_to_saved_address(user, url):
    """A row for ``user``, whose Apprise address ``url`` was saved before the checks existed."""
    AppriseAddress.objects.create(user=user, url=url)
    notify(TICKET, {user: ["chat"]})
    return nonzero(process_notifications())


@pytest.mark.django_db
@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=[], NOTIFY_BACKENDS=personal_settings())
def test_a_saved_json_url_never_sends_its_forged_delete_to_an_internal_host(internal_host, make_user):
    counts = deliver_to_saved_address(make_user("ada"), forged_delete(internal_host.origin))

    assert [
        (request.method, request.headers.get("x-internal-auth")) for request in internal_host.received
    ] == []
    assert counts == {"failed": 1}
    assert Notification.objects.get().last_error == (
        "Apprise rejects json://••••rged (json:// is not among the services users may add)"
    )


@pytest.mark.django_db
@override_settings(
    NOTIFY_ALLOWED_PRIVATE_NETWORKS=["127.0.0.0/8"],
    NOTIFY_APPRISE_USER_SCHEMES=["json", "ntfy"],
    NOTIFY_BACKENDS=personal_settings(),
)
def test_a_url_that_sets_the_method_or_headers_is_not_honoured_even_where_json_is_allowed(
    internal_host, make_user
):
    counts = deliver_to_saved_address(make_user("ada"), forged_delete(internal_host.origin))

    assert internal_host.received == []
    assert counts == {"failed": 1}
    assert Notification.objects.get().last_error == (
        "Apprise rejects json://••••rged (it sets the request's method or headers (+x-internal-auth, method))"
    )


@pytest.mark.django_db
@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=[], NOTIFY_BACKENDS=personal_settings())
def test_a_name_that_resolves_to_loopback_is_refused_when_sending(internal_host, make_user):
    port = internal_host.origin.rsplit(":", 1)[1]

    counts = deliver_to_saved_address(make_user("ada"), f"ntfy://localhost:{port}/ada-topic-1234")

    assert internal_host.received == []
    assert counts == {"failed": 1}
    assert Notification.objects.get().last_error == (
        "Apprise rejects ntfy://••••1234 (it leads to 127.0.0.1, a loopback address)"
    )


@pytest.mark.django_db
@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=["127.0.0.2/32"], NOTIFY_BACKENDS=personal_settings())
def test_a_redirect_to_an_internal_host_is_refused_at_the_connection(internal_host, make_user):
    # 127.0.0.2 plays an allowed host (a LAN ntfy) that answers with a redirect inward.
    with RecordingServer(host="127.0.0.2") as allowed:
        allowed.replies["/"] = Reply(status=307, headers={"Location": f"http://{internal_host.origin}/admin"})
        counts = deliver_to_saved_address(make_user("ada"), f"ntfy://{allowed.origin}/ada-topic-1234")

    assert len(allowed.received) == 1
    assert internal_host.received == []
    assert counts == {"failed": 1}
    assert Notification.objects.get().last_error == (
        "Apprise: refused a connection to 127.0.0.1, a loopback address; ntfy (ntfy://••••1234) failed"
    )


@pytest.mark.django_db
@override_settings(NOTIFY_ALLOWED_PRIVATE_NETWORKS=[])
def test_team_urls_of_the_settings_are_trusted(internal_host, make_user):
    url = f"json://{internal_host.origin}/internal-hook?method=PUT&+X-Team-Token=t0k3n"
    with override_settings(NOTIFY_BACKENDS=team_settings(url)):
        notify(TICKET, [make_user("ada")], channels=["team"])
        counts = nonzero(process_notifications())

    assert counts == {"sent": 1}
    assert [(request.method, request.headers["x-team-token"]) for request in internal_host.received] == [
        ("PUT", "t0k3n")
    ]


# -- no secret of a URL in recorded errors or logs (issue 18, item 6) -----------------------

TOPIC = "ada-topic-7f3c91d2"
TOKEN = "tok-e4b81a9c55"


def leaked(text, secrets=(TOPIC, TOKEN)):
    return [secret for secret in secrets if secret in text]


def logged_text(caplog):
    return "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)


@pytest.mark.django_db
def test_a_failing_users_url_is_masked_in_last_error_and_in_the_logs(receiver, make_user, caplog):
    receiver.replies["/"] = Reply(status=503, body=f"no topic {TOPIC} here".encode())
    caplog.set_level(logging.DEBUG)
    with override_settings(NOTIFY_BACKENDS=personal_settings()):
        counts = deliver_to_saved_address(make_user("ada"), f"ntfy://{receiver.origin}/{TOPIC}")

    assert counts == {"errored": 1}
    assert Notification.objects.get().last_error == "Apprise: ntfy (ntfy://••••91d2) failed"
    assert len(receiver.received) == 1
    assert caplog.records  # Apprise did log the failure, with the topic in its warning
    assert leaked(logged_text(caplog)) == []


@pytest.mark.django_db
def test_a_failing_team_url_is_masked_in_last_error_and_in_the_logs(receiver, make_user, caplog):
    receiver.replies["/hook"] = Reply(status=503)
    caplog.set_level(logging.DEBUG)
    url = f"json://{receiver.origin}/hook/{TOPIC}?+Authorization=Bearer%20{TOKEN}"
    with override_settings(NOTIFY_BACKENDS=team_settings(url)):
        notify(TICKET, [make_user("ada")], channels=["team"])
        counts = nonzero(process_notifications())

    assert counts == {"errored": 1}
    assert receiver.received[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert Notification.objects.get().last_error == "Apprise: JSON (json://••••9c55) failed"
    assert caplog.records
    assert leaked(logged_text(caplog)) == []


PARAMETER_NAME = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", min_size=1, max_size=20
)


@given(
    shaping=st.lists(
        st.one_of(
            st.tuples(st.sampled_from("+-:"), PARAMETER_NAME).map("".join),
            st.just("method"),
            st.just("METHOD"),
        ),
        min_size=1,
        max_size=3,
    ),
    value=PARAMETER_NAME,
)
@override_settings(NOTIFY_APPRISE_USER_SCHEMES=["json", "ntfy"])
def test_any_parameter_that_shapes_the_request_is_refused_in_a_users_url(shaping, value):
    # As typed ("+X-Auth=…") and percent-encoded ("%2BX-Auth=…"): Apprise reads both alike.
    for spell in (str, lambda name: quote(name, safe="")):
        query = "&".join(f"{spell(name)}={value}" for name in shaping)
        for url in (f"json://8.8.8.8/hook?{query}", f"ntfy://8.8.8.8/topic?{query}"):
            assert user_url_refusal(url).startswith("it sets the request's method or headers ("), url


# -- a row to many URLs (issue 18, item 3) ---------------------------------------------------


@pytest.mark.django_db
@override_settings(NOTIFY_RETRY_BASE_DELAY=0, NOTIFY_MAX_ATTEMPTS=3, NOTIFY_APPRISE_USER_SCHEMES=["json"])
def test_per_user_mode_retries_only_the_urls_that_did_not_take_the_row(receiver, make_user):
    receiver.replies["/ada-down"] = Reply(status=503)
    ada = make_user("ada")
    AppriseAddress.objects.create(user=ada, url=f"json://{receiver.origin}/ada-hook")
    AppriseAddress.objects.create(user=ada, url=f"json://{receiver.origin}/ada-down")
    with override_settings(NOTIFY_BACKENDS=personal_settings()):
        notify(TICKET, {ada: ["chat"]})
        # Retries are due at once: a worker run per attempt the row may get.
        for _ in range(3):
            process_notifications()

    posts = [request.path for request in receiver.received]
    assert (posts.count("/ada-hook"), posts.count("/ada-down")) == (1, 3)
    row = Notification.objects.get()
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        3,
        "Apprise: JSON (json://••••down) failed",
    )


@pytest.mark.django_db
@override_settings(NOTIFY_DELIVERY_DEADLINE_SECONDS=1, NOTIFY_APPRISE_USER_SCHEMES=["json"])
def test_per_user_mode_ends_a_row_to_many_hanging_urls_by_its_deadline(make_user):
    ada = make_user("ada")
    with SilentServer() as hanging:
        for number in range(20):
            AppriseAddress.objects.create(user=ada, url=f"json://{hanging.origin}/hook-{number}")
        with override_settings(NOTIFY_BACKENDS=personal_settings(timeout=0.4)):
            notify(TICKET, {ada: ["chat"]})
            started = time.monotonic()
            process_notifications()
            elapsed = time.monotonic() - started

    assert elapsed < 1.5
    row = Notification.objects.get()
    assert row.status == "errored"
    assert row.last_error.endswith(
        "the delivery deadline (1s) passed before every destination was tried: the rest are tried on retry"
    )
