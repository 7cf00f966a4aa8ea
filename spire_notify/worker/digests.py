"""Digests: one email that carries a user's held notifications of one channel.

Writing: a row whose recipient chose ``"digest"`` for its type and channel, on a channel whose
backend ``supports_digest`` (email), is written ``held``, due at the end of its window. Windows
are ``NOTIFY_DIGEST_INTERVAL`` seconds long, counted from the Unix epoch: with the default, a
day that ends at midnight UTC. Guests (no account) are never held.

Delivering (``deliver_digests()``, which ``process_notifications()`` runs after the other rows):

1. Claim. A digest abandoned by a dead worker, or due for a retry, is claimed like a row: a
   token, a lease, an attempt counted. Then, for users with held rows whose window has ended, a
   digest is opened and those rows are tied to it, in one transaction. At most one digest per
   user and channel is open at a time (a unique constraint), so two workers never both open one,
   and a row is tied once, to one digest, for good. A row written after the tie is not in it: it
   goes in the next digest.
2. Render each digest (``spire_notify/email/digest.html``: items grouped by type, newest first)
   and send it through the channel backend's send loop, guarded by the claim as rows are, so
   timeouts, error classification and the lease apply.
3. Record. The digest and its items end together, in one transaction: ``sent`` (each item
   ``sent``, tied to the digest that carried it), ``errored`` (retried later with the same
   items), or ``failed``. A worker killed between hand-off and record leaves the digest to be
   sent again once its lease expires, with the same items and Message-ID: the one duplicate
   window of every transmitting channel.

What a digest carries is decided when it is sent: items read in the app since (a held
``Deferred`` row with ``unless_read``), of a type switched off since, or that can no longer
reach the user are left out and end ``skipped`` with their reason; a digest left with nothing
is ``skipped``, not sent.

Switching back to ``"immediate"`` (``set_preference``) releases what is held: it goes out at the
next run as one final digest. Switching to ``"off"`` releases nothing: what is held ends
``skipped`` when its window ends, unless the recipient switches back before.
"""

import logging
from collections import Counter, defaultdict

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery

from spire_notify import clock, conf
from spire_notify.backends.base import Outcome, describe_error
from spire_notify.exceptions import Undeliverable
from spire_notify.handler import notify_backends
from spire_notify.store.models import Digest, Notification, NotificationStatus
from spire_notify.store.signals import send_signals
from spire_notify.worker.claims import claim_fields, detail_relations, new_token
from spire_notify.worker.pipeline import Ended, Parcel, deliver, ending
from spire_notify.worker.skips import READ_BEFORE_DIGEST
from spire_notify.worker.targets import recipient_of

logger = logging.getLogger("spire_notify")

OPEN = [NotificationStatus.PENDING, NotificationStatus.PROCESSING, NotificationStatus.ERRORED]
RETRYABLE = [NotificationStatus.PENDING, NotificationStatus.ERRORED]
NOTHING_LEFT = "Skipped: none of its notifications was still to be sent."
ABANDONED_ON_LAST_ATTEMPT = (
    "Given up: the worker sending the digest's last attempt stopped before recording it (its lease expired)."
)


# -- claiming ------------------------------------------------------------------------------


def deliver_digests(*, batch_size, should_stop=None, using="default"):
    """Send every digest that is due, batch after batch; returns the counts of their items."""
    should_stop = should_stop or (lambda: False)
    if not any(notify_backends[alias].supports_digest for alias in notify_backends):
        return {}
    if not _anything_due(clock.now(), using=using):
        return {}
    counts = Counter(_give_up_abandoned(using=using))
    while not should_stop():
        digests = claim_digests(batch_size, lease_seconds=conf.get("NOTIFY_LEASE_SECONDS"), using=using)
        if not digests:
            break
        counts.update(send_digests(digests, should_stop=should_stop, using=using))
    return dict(counts)


def _ready_q(now):
    """Digests to claim: due for a retry, or abandoned by a worker whose lease ran out."""
    return Q(status__in=RETRYABLE, next_attempt_at__lte=now) | Q(
        status=NotificationStatus.PROCESSING, lease_expires_at__lte=now
    )


def _held_due(now, *, using):
    return Notification.objects.using(using).filter(
        status=NotificationStatus.HELD, digest__isnull=True, send_after__lte=now, user__isnull=False
    )


def _anything_due(now, *, using):
    """One query, so that a worker with nothing held costs the database next to nothing."""
    ready = Digest.objects.using(using).filter(_ready_q(now)).values_list("pk")
    return ready.union(_held_due(now, using=using).values_list("pk")).exists()


def claim_digests(size, *, lease_seconds, using="default"):
    """Claim up to ``size`` digests: abandoned or retried ones, then new ones for users whose
    window has ended. Returns them with their user loaded; the pipeline's load step
    (``Digests.parcels``) loads the items they carry."""
    now = clock.now()
    claim = claim_fields(now, lease_seconds)
    ready = Digest.objects.using(using).filter(_ready_q(now)).order_by("next_attempt_at", "pk")
    candidates = _skipping_locked(ready)
    with transaction.atomic(using=using):
        claimed = (
            Digest.objects.using(using)
            .filter(pk__in=candidates.values("pk")[:size])
            .update(attempts=F("attempts") + 1, **claim)
        )
    if claimed < size:
        _open_digests(size - claimed, now, claim, using=using)
    return _claimed(claim["claimed_by"], using=using)


def _open_digests(limit, now, claim, *, using):
    held = _held_due(now, using=using)
    still_open = Digest.objects.filter(
        status__in=OPEN, user_id=OuterRef("user_id"), channel=OuterRef("channel")
    )
    with transaction.atomic(using=using):
        pairs = list(
            held.exclude(Exists(still_open)).values_list("user_id", "channel").distinct().order_by()[:limit]
        )
        if not pairs:
            return
        # A user another worker opened a digest for meanwhile conflicts, and is left to it.
        Digest.objects.using(using).bulk_create(
            [Digest(user_id=user_id, channel=channel, attempts=1, **claim) for user_id, channel in pairs],
            ignore_conflicts=True,
        )
        ours = Digest.objects.using(using).filter(
            claimed_by=claim["claimed_by"], user_id=OuterRef("user_id"), channel=OuterRef("channel")
        )
        Notification.objects.using(using).filter(pk__in=held.filter(Exists(ours)).values("pk")).update(
            digest_id=Subquery(ours.values("pk")[:1])
        )


def _claimed(token, *, using):
    return list(
        Digest.objects.using(using)
        .filter(claimed_by=token, status=NotificationStatus.PROCESSING)
        .select_related("user")
        .order_by("pk")
    )


def _give_up_abandoned(*, using):
    """Fail the digests (and their items) whose worker died during their last attempt."""
    abandoned = Digest.objects.using(using).filter(
        status=NotificationStatus.PROCESSING,
        lease_expires_at__lte=clock.now(),
        attempts__gte=conf.get("NOTIFY_MAX_ATTEMPTS"),
    )
    token = new_token()
    with transaction.atomic(using=using):
        Digest.objects.using(using).filter(pk__in=_skipping_locked(abandoned).values("pk")).update(
            claimed_by=token
        )
    given_up = _claimed(token, using=using)
    if not given_up:
        return Counter()
    failure = Outcome.permanent_failure(ABANDONED_ON_LAST_ATTEMPT)
    return DIGESTS.record(
        [Ended(parcel, failure) for parcel in DIGESTS.parcels(given_up, using=using)], using=using
    )


def _skipping_locked(queryset):
    if connections[queryset.db].features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


# -- sending -------------------------------------------------------------------------------


def send_digests(digests, *, should_stop=None, using="default"):
    """Take claimed digests through the pipeline (``spire_notify.worker.pipeline``): leave out
    the items that no longer apply, render, send and record; returns the counts of the items."""
    return deliver(DIGESTS, digests, should_stop=should_stop, using=using)


class Digests:
    """Claimed digests, as the pipeline's ``Kind``: each is a parcel that carries its items."""

    name = "digest"
    model = Digest
    read_reason = READ_BEFORE_DIGEST
    # A digest lists its items from their payload: an item whose target cannot be loaded is
    # only not checked for access, as a row without a target is not.
    renders_targets = False

    def parcels(self, claimed, *, using):
        """One query loads the items of every digest of the batch, newest first."""
        items = defaultdict(list)
        rows = (
            Notification.objects.using(using)
            .filter(digest__in=[digest.pk for digest in claimed], status=NotificationStatus.HELD)
            .select_related("user", *detail_relations())
            .order_by("-created_at", "-pk")
        )
        for row in rows:
            items[row.digest_id].append(row)
        return [Parcel(claimed=digest, items=tuple(items[digest.pk])) for digest in claimed]

    def no_backend(self, alias, backend):
        if backend is None or not backend.supports_digest:
            return f"NOTIFY_BACKENDS has no backend {alias!r} that sends digests."
        return ""

    def emptied(self, left_out):
        return Outcome.skipped(NOTHING_LEFT)

    def render(self, backend, parcels, targets):
        return [(parcel, _render(backend, parcel)) for parcel in parcels]

    def record(self, ended, *, using):
        """Write each digest's outcome and its items', together, if this worker still holds it."""
        if not ended:
            return Counter()
        now = clock.now()
        token = ended[0].parcel.claimed.claimed_by
        finished = []
        with transaction.atomic(using=using):
            for each in ended:
                digest = each.parcel.claimed
                values = ending(each.outcome, attempts=digest.attempts, throttles=digest.throttles, now=now)
                held = Digest.objects.using(using).filter(
                    pk=digest.pk, claimed_by=token, status=NotificationStatus.PROCESSING
                )
                if not held.update(**values):
                    logger.warning("Digest %s was taken over by another worker.", digest.pk)
                    continue
                finished += _finish_items(each.parcel, values, now, using=using)
        send_signals(finished)
        return Counter(item.status for item in finished)


DIGESTS = Digests()


def _render(backend, parcel):
    try:
        return backend.render_digest(list(parcel.items), recipient_of(backend, parcel.items[0]))
    except ImproperlyConfigured:
        raise
    except Undeliverable as error:
        return Outcome.permanent_failure(f"Undeliverable: {error}")
    except Exception as error:
        logger.exception("%s could not render digest %s", backend, parcel.pk)
        return Outcome.temporary(describe_error(error))


def _finish_items(parcel, values, now, *, using):
    """The items that ended with the parcel's digest, updated: those left out end ``skipped``
    with their reason; the rest end as the digest did, unless it errored, which keeps them held."""
    rows = Notification.objects.using(using)
    by_reason = defaultdict(list)
    for item, outcome in parcel.left_out:
        item.status, item.last_error, item.digest_id = NotificationStatus.SKIPPED, outcome.error, None
        by_reason[outcome.error].append(item.pk)
    for reason, pks in by_reason.items():
        rows.filter(pk__in=pks).update(status=NotificationStatus.SKIPPED, last_error=reason, digest=None)
    left_out = [item for item, _ in parcel.left_out]
    status = values["status"]
    if status not in (NotificationStatus.SENT, NotificationStatus.FAILED, NotificationStatus.SKIPPED):
        return left_out
    item_values = {"status": status, "last_error": values["last_error"], "next_attempt_at": now}
    if status == NotificationStatus.SENT:
        item_values["sent_at"] = now
    rows.filter(digest=parcel.claimed, status=NotificationStatus.HELD).update(**item_values)
    for item in parcel.items:
        for field, value in item_values.items():
            setattr(item, field, value)
    return left_out + list(parcel.items)
