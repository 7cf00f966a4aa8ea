"""P1 and P2: writing a ticket's notifications."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from spire_notify import notify
from spire_notify.channels.app.models import AppNotification
from spire_notify.helpdesk.models import HelpDeskTicket
from spire_notify.models import Notification

from . import population
from .measure import Row, Stopwatch, count_queries, median, ms
from .peers import NotificationsHq, PeerUnavailable


def p1_queries(sizes):
    """Queries of ``ticket.services.create`` per number of developer recipients."""
    requester = population.requester()

    def create():
        return HelpDeskTicket().services.create(created_by=requester, **population.TICKET_FIELDS)

    # Process-wide caches (ContentType, Site) warm once, as the contract allows.
    warm = population.make_users("p1-warm-", 1)
    with override_settings(ADMINS=[warm[0].email]):
        create()
    counts = {}
    for size in sizes:
        users = population.make_users(f"p1-{size}-", size)
        with override_settings(ADMINS=[user.email for user in users]):
            ticket, counts[size] = count_queries(create)
        written = Notification.objects.filter(object_id=str(ticket.pk)).count()
        assert written == 2 * size, f"P1 expected {2 * size} notifications, found {written}"
    Notification.objects.all().delete()
    values = list(counts.values())
    return [
        Row(
            id="P1",
            what="queries of ticket.services.create at "
            + " / ".join(f"{size:,}" for size in sizes)
            + " recipients",
            ours=" / ".join(str(value) for value in values),
            target="all equal",
            met=len(set(values)) == 1,
            values={"queries": counts},
        )
    ]


def _bare_bulk_create(group, message, target_type, target_id):
    """The limit: load the same users, then one bulk_create per table, nothing else."""
    users = list(get_user_model().objects.filter(groups=group, is_active=True).order_by("pk"))
    due = timezone.now()
    payload = message.to_payload()
    with transaction.atomic():
        rows = Notification.objects.bulk_create(
            Notification(
                user=user,
                channel="app",
                event=message.event,
                title=message.title,
                payload=payload,
                content_type=target_type,
                object_id=target_id,
                send_after=due,
                next_attempt_at=due,
            )
            for user in users
        )
        AppNotification.objects.bulk_create(AppNotification(notification=row) for row in rows)
    return len(rows)


def p2_write_time(recipients, runs, *, engine, hq_database):
    """Our write path against notifications-hq and bare bulk_create, interleaved run by run."""
    from django.contrib.contenttypes.models import ContentType

    group, _ = population.make_managers("p2-", recipients)
    ticket = population.quiet_ticket()
    service = ticket.services.notification
    message = population.new_ticket_message(ticket)
    target_type, target_id = ContentType.objects.get_for_model(ticket), str(ticket.pk)

    def ours():
        # The help desk's NEW ticket: the audience path (INSERT … SELECT from the user query).
        with transaction.atomic():
            service.create_new_ticket_notifications()

    def ours_dict():
        # The same recipients through the mapping path: users loaded, one row object each.
        with transaction.atomic():
            notify(message, service.get_new_ticket_recipients())

    def written():
        count = Notification.objects.count()
        Notification.objects.all().delete()
        return count

    try:
        hq = NotificationsHq(engine, hq_database)
        hq.setup(recipients)
        hq_note = ""
    except PeerUnavailable as error:
        hq, hq_note = None, str(error)

    times = {"ours": [], "ours_dict": [], "bare": [], "hq_autocommit": [], "hq_atomic": []}
    queries = {}
    try:
        with override_settings(ADMINS=[]):
            # One untimed round warms every side's caches and connections.
            for timed in (False, *[True] * runs):
                with Stopwatch() as watch:
                    _, queries["ours"] = count_queries(ours)
                assert (count := written()) == recipients, f"P2 wrote {count} notifications, not {recipients}"
                with Stopwatch() as dict_watch:
                    _, queries["ours_dict"] = count_queries(ours_dict)
                assert (count := written()) == recipients, f"P2 wrote {count} notifications, not {recipients}"
                if hq is not None:
                    autocommit, atomic = hq.run("autocommit"), hq.run("atomic")
                    queries["hq_autocommit"] = autocommit["queries"]
                with Stopwatch() as bare_watch:
                    _, queries["bare"] = count_queries(
                        lambda: _bare_bulk_create(group, message, target_type, target_id)
                    )
                Notification.objects.all().delete()
                if timed:
                    times["ours"].append(watch.seconds)
                    times["ours_dict"].append(dict_watch.seconds)
                    times["bare"].append(bare_watch.seconds)
                    if hq is not None:
                        times["hq_autocommit"].append(autocommit["seconds"])
                        times["hq_atomic"].append(atomic["seconds"])
    finally:
        if hq is not None:
            hq.close()

    ours_s, dict_s, bare_s = median(times["ours"]), median(times["ours_dict"]), median(times["bare"])
    what = f"{recipients:,} recipients"
    rows = []
    if hq is not None:
        comparisons = (
            ("queryset", ours_s, "autocommit", 20),
            ("queryset", ours_s, "atomic", None),
            ("dict", dict_s, "autocommit", None),
        )
        for path, ours_path_s, mode, target in comparisons:
            hq_s = median(times[f"hq_{mode}"])
            rows.append(
                Row(
                    id="P2",
                    what=f"write {what} ({path}) vs notifications-hq notify.send ({mode})",
                    ours=ms(ours_path_s),
                    baseline=ms(hq_s),
                    ratio=f"{hq_s / ours_path_s:.1f}× faster",
                    target=f"≥ {target}× faster" if target else "(reference)",
                    met=(hq_s / ours_path_s >= target) if target else None,
                    values={"ours": ours_path_s, "baseline": hq_s, "hq_django": hq.version},
                )
            )
    else:
        rows.append(
            Row(
                id="P2",
                what=f"write {what} vs notifications-hq",
                ours=ms(ours_s),
                baseline="unavailable",
                target="≥ 20× faster",
                ratio=hq_note,
            )
        )
    rows.append(
        Row(
            id="P2",
            what=f"write {what} (queryset) vs bare bulk_create (2 tables)",
            ours=f"{ms(ours_s)}, {queries['ours']} q",
            baseline=f"{ms(bare_s)}, {queries['bare']} q",
            ratio=f"{ours_s / bare_s:.2f}×",
            target="≤ 1.3×",
            met=ours_s / bare_s <= 1.3,
            values={"ours": ours_s, "baseline": bare_s, "queries": queries},
        )
    )
    return rows
