"""Fan-out to an audience: ``notify(message, users_queryset, channels=[...])`` writes the rows the
mapping path writes, with INSERT … SELECT, in batches, in a number of queries that does not
grow with the audience; preferences, inactive users and missing addresses are decided in SQL."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from spire_notify import notification_types, notify
from spire_notify.channels.app.models import AppNotification
from spire_notify.channels.email.models import EmailNotification
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.message import Message
from spire_notify.models import Notification
from spire_notify.preferences import set_preference
from spire_notify.store.signals import notification_sent
from spire_notify.write import audience as audience_module
from spire_notify.write.audience import notify_audience
from tests.support.delivery_harness import postgres_only

pytestmark = pytest.mark.django_db(transaction=False)

COMPARED = ("event", "title", "payload", "content_type_id", "object_id", "status", "attempts", "body", "url")


@pytest.fixture
def audience(make_user):
    def make(count, prefix="member"):
        for index in range(count):
            make_user(f"{prefix}{index}")
        return get_user_model().objects.filter(username__startswith=prefix)

    return make


@pytest.fixture
def weekly():
    notification_types.register(
        "reports.weekly", name="Weekly report", default_channels=["app"], optional_channels=["email"]
    )
    yield "reports.weekly"
    notification_types.unregister("reports.weekly")


def stored(rows):
    return {
        (row.user_id, row.channel): tuple(getattr(row, name) for name in COMPARED)
        + (getattr(getattr(row, "email", None), "to_email_address", None),)
        for row in rows.select_related("email")
    }


def test_the_rows_are_those_the_mapping_path_writes(audience, message):
    users = audience(3)
    written = notify(message, users, channels=["app", "email"])
    by_queryset = stored(Notification.objects.all())
    assert sorted(row.pk for row in written) == sorted(Notification.objects.values_list("pk", flat=True))
    Notification.objects.all().delete()
    notify(message, {user: ["app", "email"] for user in users})
    assert by_queryset == stored(Notification.objects.all())
    assert len(by_queryset) == 6
    app_row = Notification.objects.filter(channel="app").first()
    assert app_row.sent_at == app_row.created_at == app_row.send_after
    assert AppNotification.objects.count() == EmailNotification.objects.count() == 3


def test_inactive_users_and_users_without_an_address_are_left_out(audience, make_user, message):
    users = audience(2)
    make_user("member-idle", is_active=False)
    no_address = make_user("member-mute", email="")
    notify(message, users, channels=["app", "email"])
    assert sorted(Notification.objects.values_list("user__username", "channel")) == [
        ("member-mute", "app"),
        ("member0", "app"),
        ("member0", "email"),
        ("member1", "app"),
        ("member1", "email"),
    ]
    assert not EmailNotification.objects.filter(notification__user=no_address).exists()


def test_opted_out_channels_are_not_written(audience, message):
    users = audience(3)
    set_preference(users.get(username="member0"), message.event, "email", "off")
    set_preference(users.get(username="member1"), message.event, "app", "off")
    notify(message, users, channels=["app", "email"])
    assert sorted(Notification.objects.values_list("user__username", "channel")) == [
        ("member0", "app"),
        ("member1", "email"),
        ("member2", "app"),
        ("member2", "email"),
    ]


def test_a_channel_off_by_default_reaches_only_who_switched_it_on(audience, weekly):
    users = audience(3)
    set_preference(users.get(username="member2"), weekly, "email", "immediate")
    notify(Message(event=weekly, title="Week 48"), users, channels=["app", "email"])
    assert Notification.objects.filter(channel="app").count() == 3
    assert list(Notification.objects.filter(channel="email").values_list("user__username", flat=True)) == [
        "member2"
    ]


def test_a_mandatory_type_ignores_off(audience, security_notice):
    users = audience(2)
    notify(Message(event=security_notice, title="New sign-in"), users, channels=["email"])
    assert Notification.objects.filter(channel="email").count() == 2


def test_batches_write_every_user_once_with_their_own_address(audience, message):
    users = audience(7)
    notify_audience(message, users, ["app", "email"], batch_size=3)
    assert Notification.objects.count() == 14
    addresses = dict(
        EmailNotification.objects.values_list("notification__user__username", "to_email_address")
    )
    assert addresses == {f"member{index}": f"member{index}@example.com" for index in range(7)}
    assert AppNotification.objects.count() == 7


def test_the_queries_do_not_grow_with_the_audience(audience, message):
    few, many = audience(2, "few"), audience(40, "many")
    counts = []
    for users in (few, many):
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            notify(message, users, channels=["app", "email"])
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert Notification.objects.count() == 2 * 42


def test_the_caller_transaction_holds_the_rows_and_delivery_waits_for_commit(
    audience, message, django_capture_on_commit_callbacks
):
    users = audience(2)
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(message, users, channels=["app", "email"])
        raise RuntimeError("rolled back")
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify(message, users, channels=["app"])
    # In-app rows are delivered by writing them: one callback signals them, none enqueues.
    assert len(callbacks) == 1
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    with django_capture_on_commit_callbacks() as callbacks:
        notify(message, users, channels=["email"])
    assert len(callbacks) == 1


def test_deferred_in_app_rows_wait_for_the_worker(audience, message, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    later = timezone.now() + timedelta(hours=1)
    with django_capture_on_commit_callbacks() as callbacks:
        notify(message, audience(2), channels=["app"], send_after=later)
    assert set(Notification.objects.values_list("status", "body", "send_after")) == {("pending", "", later)}
    assert len(callbacks) == 1


def test_in_app_rows_signal_sent_after_commit(audience, message, django_capture_on_commit_callbacks):
    heard = []

    def on_sent(sender, notification, **kwargs):
        heard.append((notification.user.username, notification.channel))

    notification_sent.connect(on_sent)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            notify(message, audience(2), channels=["app", "email"])
    finally:
        notification_sent.disconnect(on_sent)
    assert sorted(heard) == [("member0", "app"), ("member1", "app")]


@override_settings(NOTIFY_LIVE_UPDATES=False)
def test_with_no_receiver_the_rows_are_never_read_back(audience, message, django_capture_on_commit_callbacks):
    """With live updates off (the default) nothing of spire_notify listens for sent rows: an
    audience of 100,000 must not be loaded, row by row, at its commit."""
    users = audience(3)
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        notify(message, users, channels=["app"])
    table = Notification._meta.db_table
    assert [
        query["sql"] for query in queries if query["sql"].startswith("SELECT") and table in query["sql"]
    ] == []
    assert Notification.objects.filter(status="sent").count() == 3


@override_settings(NOTIFY_LIVE_UPDATES=True)
def test_with_live_updates_on_the_live_inbox_hears_the_audiences_rows(
    audience, message, django_capture_on_commit_callbacks, monkeypatch
):
    from spire_notify.channels.live import events as live

    published = []
    monkeypatch.setattr(
        live, "publish_to_users", lambda event, by_user: published.extend((user, event) for user in by_user)
    )
    users = audience(2)
    with django_capture_on_commit_callbacks(execute=True):
        notify(message, users, channels=["app"])
    assert sorted(published) == sorted((user.pk, "notifications") for user in users)


def language_of(user):
    return "de" if user.username.endswith("1") else "en"


@override_settings(NOTIFY_RECIPIENT_LANGUAGE=f"{__name__}.language_of")
def test_with_a_language_chooser_the_audience_goes_through_the_mapping_path_in_chunks(
    audience, message, monkeypatch
):
    from spire_notify.write import audience as fanout

    monkeypatch.setattr(fanout, "LANGUAGE_CHUNK", 2)
    mapping_path, chunks = fanout.write_rows, []

    def recording(message, recipients, **options):
        if isinstance(recipients, dict):
            chunks.append(sorted(user.username for user in recipients))
        return mapping_path(message, recipients, **options)

    monkeypatch.setattr(fanout, "write_rows", recording)
    written = notify(message, audience(5), channels=["app", "email"])
    assert chunks == [["member0", "member1"], ["member2", "member3"], ["member4"]]
    assert len(written) == Notification.objects.count() == 10


def test_an_audience_the_database_knows_to_be_empty_writes_nothing(message):
    assert list(notify(message, get_user_model().objects.filter(pk__in=[]), channels=["app"])) == []


def test_only_a_queryset_of_users(message):
    with pytest.raises(TypeError, match="notify\\(\\) takes a QuerySet of User, not of HelpDeskTicket"):
        notify(message, HelpDeskTicket.objects.all(), channels=["app"])


def jit():
    """PostgreSQL's ``jit`` setting in the current session."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_jit_is_off_for_the_audience_statements_and_put_back(audience, message):
    before, users = jit(), audience(2)
    ContentType.objects.get_for_model(message.target)  # cached once per process
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        notify(message, users, channels=["app"])
        assert jit() == before
    statements = [
        query["sql"] for query in queries if not query["sql"].startswith(("SAVEPOINT", "RELEASE", "SHOW"))
    ]
    assert statements[0].startswith("SELECT current_setting('jit'), set_config('jit', 'off', true)")
    assert statements[1].startswith("WITH audience AS")
    # The last page's statement puts JIT back itself: no third round trip (P2, issue 21).
    assert "set_config('jit', CASE WHEN COUNT(*) <" in statements[1]
    assert len(statements) == 2


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_jit_stays_off_between_pages_and_is_put_back_by_the_last(audience, message):
    before, users = jit(), audience(5)
    ContentType.objects.get_for_model(message.target)  # cached once per process
    with CaptureQueriesContext(connection) as queries, transaction.atomic(savepoint=False):
        notify_audience(message, users, ["app", "email"], batch_size=2)
        assert jit() == before
    statements = [query["sql"] for query in queries if not query["sql"].startswith("SHOW")]
    # JIT off once; per channel three pages (2 + 2 + 1 users): the audience's first two, then
    # windows of the primary key, each after the read of where it ends (none for the last);
    # who chose a digest (email) once.
    pages = ["WITH", "SELECT", "WITH", "SELECT", "WITH"]
    assert [statement.split(" ", 1)[0] for statement in statements] == ["SELECT", *pages, *pages, "SELECT"]
    assert statements[-1].startswith('SELECT "auth_user"')
    assert Notification.objects.count() == 10


def test_pages_write_each_user_of_a_sparse_audience_once(make_user, message):
    """An audience of every other user: windows of the user table hold members and others."""
    for index in range(11):
        make_user(f"sparse{index:02}", is_active=index % 2 == 0)
    users = get_user_model().objects.filter(username__startswith="sparse")
    notify_audience(message, users, ["app", "email"], batch_size=2)
    written = Notification.objects.values_list("user__username", "channel")
    expected = {f"sparse{index:02}" for index in range(0, 11, 2)}
    assert sorted(written) == sorted((name, channel) for name in expected for channel in ("app", "email"))


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_pages_after_the_first_are_windows_of_the_primary_key(audience, message):
    """Each later page is bounded by a constant key, so PostgreSQL reads its window by the
    primary key's index and evaluates the filter there only (not for every user left, which made
    a million users' write grow with the square of the audience)."""
    users = audience(5)
    ContentType.objects.get_for_model(message.target)  # cached once per process
    with CaptureQueriesContext(connection) as queries, transaction.atomic(savepoint=False):
        notify_audience(message, users, ["app"], batch_size=2)
    inserts = [query["sql"] for query in queries if query["sql"].startswith("WITH")]
    last_user = users.order_by("pk").values_list("pk", flat=True)
    assert f'"auth_user"."id" <= {last_user[3]}' in inserts[1]
    assert "LIMIT 2)" in inserts[0]
    assert "LIMIT 2)" not in inserts[1]


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_an_audience_on_app_and_email_is_four_queries(audience, message):
    """JIT off, one statement per channel (rows and detail rows; the email's puts JIT back), and
    one plain SELECT of who chose a digest on email (a SELECT, not a server-side cursor's
    DECLARE, FETCH and CLOSE: the digest users are few)."""
    users = audience(40)
    ContentType.objects.get_for_model(message.target)  # cached once per process
    with CaptureQueriesContext(connection) as queries, transaction.atomic(savepoint=False):
        notify(message, users, channels=["app", "email"])
    assert [query["sql"].split(" ", 1)[0] for query in queries] == ["SELECT", "WITH", "WITH", "SELECT"]


def nested_loops_over_two_ctes(plan):
    """The Nested Loop joins of an EXPLAIN (FORMAT JSON) plan whose two sides both scan a CTE."""
    found = []
    children = plan.get("Plans", [])
    if plan["Node Type"] == "Nested Loop" and all(child["Node Type"] == "CTE Scan" for child in children):
        found.append([child["CTE Name"] for child in children])
    for child in children:
        found += nested_loops_over_two_ctes(child)
    return found


@pytest.mark.postgres
@postgres_only
def test_on_postgresql_the_email_details_join_users_by_primary_key_not_two_ctes(audience, message):
    """PostgreSQL estimates a CTE at a row or two: joining the written rows to the audience's
    CTE for the addresses nested the loops, 10,000 × 10,000 comparisons a batch (5 s)."""
    users = audience(3)
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        notify(message, users, channels=["email"])
    [statement] = [
        query["sql"] for query in queries if "spire_notify_email_emailnotification" in query["sql"]
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
        [[[explained]]] = cursor.fetchall()
    assert nested_loops_over_two_ctes(explained["Plan"]) == []


def test_who_chose_a_digest_is_written_by_the_mapping_path_as_it_holds_for_digests(audience, message):
    users = audience(3)
    set_preference(users.get(username="member1"), message.event, "email", "digest")
    notify(message, users, channels=["app", "email"])
    emails = dict(Notification.objects.filter(channel="email").values_list("user__username", "status"))
    assert emails == {"member0": "pending", "member1": "held", "member2": "pending"}
    assert Notification.objects.filter(channel="app").count() == 3


def test_who_chose_a_digest_is_read_chunk_after_chunk_by_key(audience, message, monkeypatch):
    monkeypatch.setattr(audience_module, "LANGUAGE_CHUNK", 2)
    users = audience(6)
    for name in ("member0", "member2", "member3", "member5", "member4"):
        set_preference(users.get(username=name), message.event, "email", "digest")
    notify(message, users, channels=["email"])
    held = Notification.objects.filter(channel="email", status="held")
    assert sorted(held.values_list("user__username", flat=True)) == [
        "member0",
        "member2",
        "member3",
        "member4",
        "member5",
    ]
    assert Notification.objects.filter(channel="email", status="pending").count() == 1
