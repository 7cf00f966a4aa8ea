"""``notify()``: write the notifications of one message, and deliver them after commit."""

import logging
from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from . import conf
from .handler import backends
from .message import Recipient
from .models import Notification

logger = logging.getLogger("spire_notify")


def notify(message, recipients, *, send_after=None, using=None):
    """Write one notification per (user, channel) and enqueue their delivery on commit.

    ``recipients`` maps each user to the ``NOTIFY_BACKENDS`` aliases that should reach them; a
    channel named twice for a user counts once, and a channel that cannot reach a user (email
    without an address) is skipped. The queries issued do not grow with the number of
    recipients: one insert per table. Runs inside the caller's transaction, so a rollback
    leaves nothing behind and sends nothing. Returns the saved notifications.
    """
    due = send_after or timezone.now()
    target_type, target_id = _target_key(message.target)
    prototype = Notification(
        event=message.event,
        title=message.title,
        payload=message.to_payload(),
        content_type=target_type,
        object_id=target_id,
        send_after=due,
        next_attempt_at=due,
        created_at=due,
    )
    planned = []
    for user, channels in recipients.items():
        recipient = Recipient.for_user(user)
        for alias in dict.fromkeys(channels):
            backend = backends[alias]
            if backend.accepts(recipient):
                notification = copy_of(prototype, user=user, channel=alias)
                planned.append((backend, notification, recipient))
    if not planned:
        return []
    notifications = [notification for _, notification, _ in planned]
    with transaction.atomic(using=using):
        insert_rows(Notification, notifications, using)
        _create_details(planned, using)
        transaction.on_commit(lambda: enqueue_delivery(due), using=using)
    return notifications


def copy_of(prototype, **values):
    """A new unsaved instance like ``prototype``, with ``values`` set.

    The rows of one message differ only in user and channel; copying the prototype's
    attributes costs a fraction of ``Model.__init__``, which dominated writing 1,000 rows.
    """
    instance = prototype.__class__.__new__(prototype.__class__)
    instance.__dict__.update(prototype.__dict__)
    instance._state = ModelState()
    for name, value in values.items():
        setattr(instance, name, value)
    return instance


def _target_key(target):
    if target is None:
        return None, ""
    return ContentType.objects.get_for_model(target), str(target.pk)


def _create_details(planned, using):
    details_by_model = defaultdict(list)
    for backend, notification, recipient in planned:
        detail = backend.build_detail(notification, recipient)
        if detail is not None:
            details_by_model[type(detail)].append(detail)
    for model, details in details_by_model.items():
        insert_rows(model, details, using)


def insert_rows(model, objs, using):
    """``bulk_create(objs)`` for rows of one message, without its per-value overhead.

    The rows of one message share most values (title, payload, target, due time): a value
    that is the same object as the previous row's is prepared for the database once, not once
    per row (the payload's JSON is dumped once), which makes writing 1,000 notifications
    several times faster than ``bulk_create``. The statements are ``bulk_create``'s: one
    multi-row INSERT per batch, primary keys read back with RETURNING. Falls back to
    ``bulk_create`` where the database cannot return them, or when a field needs more than a
    plain value (``auto_now``, a database default, custom placeholder SQL).
    """
    using = using or router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    returns_pk = meta.auto_field is not None
    fields = [field for field in meta.concrete_fields if not (returns_pk and field is meta.pk)]
    if not objs or not _plainly_insertable(fields, connection, returns_pk):
        return model.objects.using(using).bulk_create(objs)
    rows = _prepared_rows(fields, objs, connection)
    ops = connection.ops
    insert = (
        f"INSERT INTO {ops.quote_name(meta.db_table)} "
        f"({', '.join(ops.quote_name(field.column) for field in fields)}) "
    )
    returning = f" RETURNING {ops.quote_name(meta.pk.column)}" if returns_pk else ""
    batch_size = max(ops.bulk_batch_size(fields, objs), 1)
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            values_sql, params = _values(connection, fields, rows[start : start + batch_size])
            cursor.execute(insert + values_sql + returning, params)
            if returns_pk:
                for obj, (pk,) in zip(objs[start : start + batch_size], cursor.fetchall(), strict=True):
                    obj.pk = pk
    for obj in objs:
        obj._state.adding, obj._state.db = False, using
    return objs


def _values(connection, fields, rows):
    """The row source of an INSERT and its parameters.

    PostgreSQL takes one array per column through UNNEST, as Django's own bulk_create does
    there, so that planning does not grow with the rows; elsewhere, a multi-row VALUES.
    """
    if connection.vendor == "postgresql":
        # Without "(n)": varchar[] does not truncate, varchar(64)[] would.
        db_types = [field.db_type(connection).split("(")[0] for field in fields]
        arrays = ", ".join(f"(%s)::{db_type}[]" for db_type in db_types)
        return f"SELECT * FROM UNNEST({arrays})", [list(column) for column in zip(*rows, strict=True)]
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return "VALUES " + ", ".join([row_sql] * len(rows)), [value for row in rows for value in row]


def _plainly_insertable(fields, connection, returns_pk):
    if returns_pk and not connection.features.can_return_rows_from_bulk_insert:
        return False
    return not any(
        getattr(field, "auto_now", False)
        or getattr(field, "auto_now_add", False)
        or hasattr(field, "get_placeholder_sql")
        or field.has_db_default()
        for field in fields
    )


def _prepared_rows(fields, objs, connection):
    """The database values of ``objs``, row by row; a value that is the very object of the
    previous row reuses that row's prepared value."""
    previous = [(object(), None)] * len(fields)
    rows = []
    for obj in objs:
        row = []
        for index, field in enumerate(fields):
            value = getattr(obj, field.attname)
            last_value, last_prepared = previous[index]
            if value is not last_value:
                last_prepared = field.get_db_prep_save(value, connection)
                previous[index] = (value, last_prepared)
            row.append(last_prepared)
        rows.append(row)
    return rows


def enqueue_delivery(run_after=None):
    """Ask the task backend to run delivery, at ``run_after`` where the backend can defer."""
    from .tasks import deliver_notifications

    task = deliver_notifications.using(backend=conf.get("NOTIFY_TASK_BACKEND"))
    if run_after is not None and run_after > timezone.now() and task.get_backend().supports_defer:
        task = task.using(run_after=run_after)
    try:
        return task.enqueue()
    except ImproperlyConfigured:
        raise
    except Exception:
        # The rows are safely pending: any worker run (loop, cron, a later task) delivers them.
        logger.exception("Could not enqueue notification delivery; rows stay pending.")
        return None
