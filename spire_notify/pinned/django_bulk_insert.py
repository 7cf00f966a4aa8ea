"""Writing many rows of one message fast, through Django internals that are not public API.

Private Django APIs used here, each pinned per supported Django by tests/core/test_pinned.py:

- ``django.db.models.base.ModelState``: a copied instance needs a fresh ``_state``;
- ``Field.get_db_prep_save()``, ``Field.has_db_default()`` and ``DatabaseOperations.bulk_batch_size()``,
  which ``QuerySet.bulk_create()`` uses the same way;
- ``DatabaseFeatures.can_return_rows_from_bulk_insert``.

``bulk_create()`` is the public fallback wherever these do not fit.
"""

from django.db import connections, router
from django.db.models.base import ModelState


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
