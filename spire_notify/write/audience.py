"""Fan-out to an audience: ``notify(message, users_queryset, channels=[...])`` written by the database.

Each channel's rows are one ``INSERT … SELECT`` from the audience per batch of users (pages by
primary key; on PostgreSQL, after the first, windows of it: ``AudienceWriter._window_end``), in
the caller's transaction: no Python object per recipient, so notifying
100,000 users takes the memory of notifying one. What the Python path decides per recipient is
said in SQL here:

- inactive users are left out (``is_active``), and so are users without an address on a
  channel that keeps one (email: the backend's ``address_field``, the user's email field);
- preferences: the mode of each user (``preferences.mode_expression``); "off" rows are not
  written, and a mandatory type ignores "off";
- the detail rows (``EmailNotification`` with its address, ``AppNotification``) are written by
  the same statement on PostgreSQL (a data-modifying CTE), by a second statement over the
  batch's id range on SQLite (one writer: the ids of one INSERT are consecutive);
- channels that deliver by writing (``transmits = False``, the in-app inbox) are rendered once
  per message, not per recipient, and written ``sent``. Such a backend's ``render()`` must not
  depend on the recipient for an audience.

When ``NOTIFY_RECIPIENT_LANGUAGE`` names a callable, each recipient's language is only known in
Python: the audience is then read in chunks of ``LANGUAGE_CHUNK`` users and each chunk goes
through ``notify()``'s mapping path, so memory stays bounded, but queries grow with the audience.
"""

from itertools import batched

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import EmptyResultSet
from django.db import connections, router, transaction
from django.db.models import F, Value
from django.utils import translation

from spire_notify import clock
from spire_notify.handler import notify_backends
from spire_notify.i18n import language_chooser, language_for
from spire_notify.message import Recipient
from spire_notify.models import DeliveryMode, Notification, NotificationStatus
from spire_notify.preferences import mode_expression
from spire_notify.store.enqueue import request_delivery_on_commit
from spire_notify.store.signals import notification_sent, notifications_sent, send_signals
from spire_notify.write.messages import message_in, target_key
from spire_notify.write.rows import write_rows
from spire_notify.write.typos import check_aliases, check_message

# Users per INSERT … SELECT: large enough that a statement's round trip is noise, small enough
# that one statement's working set (and its WAL) stays modest.
BATCH_SIZE = 10_000
# Users loaded per chunk when languages are chosen in Python.
LANGUAGE_CHUNK = 2_000
# How a page's statement puts PostgreSQL's JIT back: if it is the last page (short of a batch),
# or as the last page.
RESTORE_IF_SHORT, RESTORE_NOW = "if short", "now"


def notify_audience(message, audience, channels, *, send_after=None, using=None, batch_size=BATCH_SIZE):
    """Write ``message`` (a ``Message``, or a function that builds one, as ``notify()`` takes)
    to every user of ``audience`` on each of ``channels``.

    Returns the notifications written, as a lazy ``QuerySet`` (evaluating it loads them).
    """
    chooser = language_chooser()
    # Validated; without a chooser, in the one language every recipient reads.
    built = message_in(message, settings.LANGUAGE_CODE if chooser else language_for(None))
    User = get_user_model()
    if audience.model is not User:
        raise TypeError(f"notify() takes a QuerySet of {User.__name__}, not of {audience.model.__name__}.")
    channels = list(dict.fromkeys(channels))
    check_aliases(channels)
    check_message([built], channels)
    using = using or router.db_for_write(Notification)
    # The audience's own query, not ``pk IN (audience)``: SQLite's parser has a fixed depth,
    # which a deep audience (the help desk's developers) nested once more exceeds. As with any
    # iterable, an audience whose joins repeat a user should say ``.distinct()``.
    if audience.query.is_sliced:
        audience = User.objects.filter(pk__in=audience.values("pk"))
    users = audience.using(using).filter(is_active=True)
    now = clock.now()
    if chooser is not None:
        with transaction.atomic(using=using):
            for chunk in batched(users.order_by("pk").iterator(chunk_size=LANGUAGE_CHUNK), LANGUAGE_CHUNK):
                write_rows(
                    message,
                    {user: channels for user in chunk},
                    send_after=send_after,
                    using=using,
                    checked=True,
                )
        return _written(built, channels, using).filter(created_at__gte=now, created_at__lte=clock.now())
    writer = AudienceWriter(built, now=now, send_after=send_after, using=using)
    # No savepoint of its own (two queries): a failure here fails the caller's transaction,
    # which can then only roll back, so no part of an audience is ever committed.
    with transaction.atomic(using=using, savepoint=False):
        written = [
            alias
            for position, alias in enumerate(channels, 1)
            if writer.write(alias, users, batch_size, last=position == len(channels))
        ]
        # After a failure there is nothing to put back: the transaction can only roll back,
        # and that undoes the setting too.
        writer.restore_jit()
        for alias in channels:
            for chunk in writer.held_back(alias, users):
                write_rows(
                    message,
                    {user: [alias] for user in chunk},
                    send_after=send_after,
                    using=using,
                    checked=True,
                )
        sent = [alias for alias in written if writer.writes_sent(alias)]
        if sent:
            rows = _written(built, sent, using).filter(created_at=now)
            transaction.on_commit(lambda: _signal_sent(rows), using=using)
        if len(sent) < len(written):
            request_delivery_on_commit(writer.due, using=using)
    return _written(built, channels, using).filter(created_at=now)


class AudienceWriter:
    """The statements that write one message's rows, channel by channel, batch by batch."""

    def __init__(self, message, *, now, send_after, using):
        self.message = message
        self.now = now
        self.due = send_after or now
        self.write_sent = send_after is None
        self.connection = connections[using]
        self.using = using
        self.jit_before = None
        self.jit_off = False
        target_type, target_id = target_key(message.target)
        self.prototype = dict(
            event=message.event,
            title=message.title,
            payload=message.to_payload(),
            content_type=target_type,
            object_id=target_id,
            send_after=self.due,
            next_attempt_at=self.due,
            created_at=now,
        )

    def write(self, alias, users, batch_size, *, last=True):
        """Write the rows of channel ``alias`` for ``users``; returns how many. ``last``: no
        channel is written after this one, so its last page puts JIT back."""
        backend = notify_backends[alias]
        email_field = get_user_model().get_email_field_name()
        if backend.address_field is not None:
            users = users.exclude(**{f"{email_field}__isnull": True}).exclude(**{email_field: ""})
        mode = mode_expression(self.message.event, alias, user_ref="pk")
        if not isinstance(mode, Value):
            # Other modes (a digest) are written by notify()'s mapping path: see held_back().
            users = users.alias(mode=mode).filter(mode=DeliveryMode.IMMEDIATE)
        columns, values = self._notification_values(backend, alias)
        detail = self._detail_values(backend)
        written, after = 0, None
        # The first page is the audience's first batch_size users, so that an audience smaller
        # than a batch is one statement, however many users the table holds. On PostgreSQL the
        # next pages are windows of the user table's primary key: see _window_end().
        windows = self.connection.vendor == "postgresql"
        while True:
            page = users.filter(pk__gt=after) if after is not None else users
            if after is None or not windows:
                page = page.order_by("pk").values(recipient_id=F("pk"))[:batch_size]
                count, last_user = self._insert(
                    columns, values, detail, page, batch_size, RESTORE_IF_SHORT if last else None
                )
                written += count
                if count < batch_size:
                    return written
                after = last_user
                continue
            end = self._window_end(after, batch_size)
            page = (page if end is None else page.filter(pk__lte=end)).order_by().values(recipient_id=F("pk"))
            restore = RESTORE_NOW if last and end is None else None
            written += self._insert(columns, values, detail, page, batch_size, restore)[0]
            if end is None:
                return written
            after = end

    def _window_end(self, after, batch_size):
        """The primary key ``batch_size`` users after ``after`` in the user table (not in the
        audience), or ``None`` when fewer are left: one read of the primary key's index.

        A page bounded by it has its filter (preferences, roles) evaluated in its window only.
        ``pk > after ORDER BY pk LIMIT n`` was planned as a scan and sort of every user after
        ``after`` (PostgreSQL estimates such a filter to keep a row or two), so each page
        evaluated the filter for the rest of the table: the time grew with the square of the
        audience (2.5× the bare write at a million users, 1.25× at 100,000).
        """
        keys = get_user_model()._base_manager.using(self.using).filter(pk__gt=after).order_by("pk")
        return next(iter(keys.values_list("pk", flat=True)[batch_size - 1 : batch_size]), None)

    def held_back(self, alias, users):
        """The users of ``users`` who chose a mode of ``alias`` other than immediate or off (a
        digest), in chunks of ``LANGUAGE_CHUNK``: the mapping path writes theirs, as it knows
        how. On a channel that gathers digests only, and then one plain query for a chunk (by
        key, not a server-side cursor's three round trips: such users are few); none at all
        elsewhere, not even the compiling of an empty query."""
        if not getattr(notify_backends[alias], "supports_digest", False):
            return
        mode = mode_expression(self.message.event, alias, user_ref="pk")
        if isinstance(mode, Value):
            return
        chosen = users.alias(mode=mode).exclude(mode__in=[DeliveryMode.IMMEDIATE, DeliveryMode.OFF])
        chosen, after = chosen.order_by("pk"), None
        while True:
            chunk = list((chosen if after is None else chosen.filter(pk__gt=after))[:LANGUAGE_CHUNK])
            if chunk:
                yield chunk
            if len(chunk) < LANGUAGE_CHUNK:
                return
            after = chunk[-1].pk

    def writes_sent(self, alias):
        """Whether the rows of ``alias`` are delivered by writing them (rendered, ``sent``)."""
        return self.write_sent and not notify_backends[alias].transmits

    def _notification_values(self, backend, alias):
        values = {**self.prototype, "channel": alias}
        if self.writes_sent(alias):
            with translation.override(self.message.language):
                rendered = backend.render(self.message, Recipient(user_id=None))
            values |= {
                "body": rendered.body,
                "url": rendered.url,
                "status": NotificationStatus.SENT,
                "sent_at": self.now,
                "attempts": 1,
            }
        row = Notification(**values)
        meta = Notification._meta
        fields = [field for field in meta.concrete_fields if field is not meta.pk and field.name != "user"]
        prepared = [field.get_db_prep_save(getattr(row, field.attname), self.connection) for field in fields]
        return [field.column for field in fields], prepared

    def _detail_values(self, backend):
        """``(model, columns, constant values, address column or None)`` of the channel's detail row."""
        model = backend.get_detail_model()
        if model is None:
            return None
        template = model()
        skipped = {"notification", backend.address_field}
        fields = [field for field in model._meta.concrete_fields if field.name not in skipped]
        prepared = [
            field.get_db_prep_save(getattr(template, field.attname), self.connection) for field in fields
        ]
        address = model._meta.get_field(backend.address_field).column if backend.address_field else None
        return model, [field.column for field in fields], prepared, address

    def _insert(self, columns, values, detail, page, batch_size, restore):
        """Write one page of users; returns ``(rows written, last user pk)``. ``restore`` (on
        PostgreSQL): whether the statement puts JIT back, ``RESTORE_IF_SHORT`` or
        ``RESTORE_NOW``, or ``None``."""
        quote = self.connection.ops.quote_name
        table, pk = quote(Notification._meta.db_table), quote(Notification._meta.pk.column)
        try:
            audience_sql, audience_params = page.query.get_compiler(self.using).as_sql()
        except EmptyResultSet:  # a condition Django knows matches nobody (pk__in=[])
            return 0, None
        on_postgresql = self.connection.vendor == "postgresql"
        insert = (
            f"INSERT INTO {table} ({', '.join(map(quote, columns))}, {quote('user_id')}) "
            f"SELECT {', '.join(['%s'] * len(values))}, audience.recipient_id "
            f"FROM {'audience' if on_postgresql else f'({audience_sql}) audience'}"
        )
        detail_sql, detail_params = self._detail_insert(detail)
        if on_postgresql:
            self._turn_jit_off()
            # One statement per page: the detail rows join the notifications it returns.
            sql = (
                f"WITH audience AS ({audience_sql}), "
                f"written AS ({insert} RETURNING {pk} AS id, {quote('user_id')} AS user_id)"
            )
            if detail_sql:
                sql += f", details AS ({detail_sql})"
            select, params = "SELECT COUNT(*), MAX(user_id)", [*audience_params, *values, *detail_params]
            restores = restore is not None and self.jit_before != "off"
            # The last page's statement puts JIT back (set after this statement was planned, so
            # it is not compiled), saving a round trip; a LIMIT page is the last when short.
            if restores and restore == RESTORE_IF_SHORT:
                select += ", set_config('jit', CASE WHEN COUNT(*) < %s THEN %s ELSE 'off' END, true)"
                params += [batch_size, self.jit_before]
            elif restores:
                select += ", set_config('jit', %s, true)"
                params += [self.jit_before]
            with self.connection.cursor() as cursor:
                cursor.execute(f"{sql} {select} FROM written", params)
                count, last_id, *_ = cursor.fetchone()
            if restores and (restore == RESTORE_NOW or count < batch_size):
                self.jit_off = False
            return count, last_id
        with self.connection.cursor() as cursor:
            cursor.execute(insert, [*values, *audience_params])
            count, last_id = cursor.rowcount, cursor.lastrowid
            if not count:
                return 0, None
            # SQLite has one writer at a time: the ids of one INSERT are consecutive, so they
            # mark the page, and the notification of its last id belongs to its last user.
            if detail_sql:
                cursor.execute(
                    f"WITH written AS (SELECT {pk} AS id, {quote('user_id')} AS user_id FROM {table} "
                    f"WHERE {pk} BETWEEN %s AND %s) {detail_sql}",
                    [last_id - count + 1, last_id, *detail_params],
                )
            if count < batch_size:
                return count, None
            cursor.execute(f"SELECT {quote('user_id')} FROM {table} WHERE {pk} = %s", [last_id])
            return count, cursor.fetchone()[0]

    def _turn_jit_off(self):
        """PostgreSQL's JIT off for this transaction until ``restore_jit()``.

        An audience's statement is cheap to run but estimated expensive (a correlated preference
        subquery and role checks per user), far past ``jit_above_cost``: compiling it took 30 ms
        for 1,000 users and 600 ms among 100,000, several times the write itself (P2).
        """
        if not self.jit_off:
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
                before = cursor.fetchone()[0]
            # Read once: after a channel's last page put it back, the setting read is ours.
            self.jit_before = self.jit_before or before
            self.jit_off = True

    def restore_jit(self):
        """Put JIT back, unless the last statement did (or none turned it off)."""
        if self.jit_off and self.jit_before != "off":
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT set_config('jit', %s, true)", [self.jit_before])
        self.jit_off = False

    def _detail_insert(self, detail):
        """The INSERT … SELECT of the detail rows of ``written`` (a CTE of ids and user ids), and
        its parameters; the address is read from the user table, by primary key.

        Not from the audience's CTE, though it holds the same addresses: PostgreSQL estimates
        two CTEs' join at a row or two and nests the loops, 10,000 × 10,000 comparisons a batch
        (5 s); the user table joins by its primary key index."""
        if detail is None:
            return "", []
        quote = self.connection.ops.quote_name
        User = get_user_model()
        model, columns, values, address = detail
        into = [*columns, "notification_id", *([address] if address else [])]
        email = quote(User._meta.get_field(User.get_email_field_name()).column)
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, into))}) "
            f"SELECT {''.join('%s, ' for _ in values)}written.id"
            + (
                f", recipient.{email} FROM written JOIN {quote(User._meta.db_table)} recipient "
                f"ON recipient.{quote(User._meta.pk.column)} = written.user_id"
                if address
                else " FROM written"
            )
        )
        return sql, values


def _written(message, channels, using):
    target_type, target_id = target_key(message.target)
    return (
        Notification.objects.using(using)
        .filter(
            event=message.event,
            content_type=target_type,
            object_id=target_id,
            channel__in=list(channels),
            user__isnull=False,
        )
        .order_by("pk")
    )


def _signal_sent(sent):
    # Read back only for receivers: with none, an audience's rows are never loaded.
    if not any(signal.has_listeners(Notification) for signal in (notification_sent, notifications_sent)):
        return
    for chunk in batched(sent.select_related("user").iterator(chunk_size=LANGUAGE_CHUNK), LANGUAGE_CHUNK):
        send_signals(chunk)
