"""Loading what claimed notifications are about (so that one bad row fails alone), and whom.

A generic prefetch of ``content_object`` raises for the whole batch when one row names a
content type whose model no longer exists (an app removed since), which made every claim of
that batch die and took the innocent rows around it to "failed". Here each content type is
loaded on its own, and a row whose target cannot be loaded gets its own permanent failure.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from spire_notify.backends.base import Outcome
from spire_notify.message import Recipient


@dataclass(frozen=True)
class Targets:
    """What the load step hands the skip and render steps: each row's target, by row pk
    (``None`` for none, or one deleted since), and the rows whose target cannot be loaded."""

    of: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)

    def target_of(self, row):
        return self.of.get(row.pk)


def load_targets(rows):
    """The ``Targets`` of ``rows``: one query per content type among them."""
    targets, failures = {}, {}
    by_type = defaultdict(list)
    for row in rows:
        if row.content_type_id is not None:
            by_type[row.content_type_id].append(row)
    for content_type_id, typed_rows in by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        if model is None:
            content_type = ContentType.objects.get_for_id(content_type_id)
            reason = f"the target's model {content_type.app_label}.{content_type.model} no longer exists"
            failures.update({row.pk: Outcome.permanent_failure(reason) for row in typed_rows})
            continue
        keys = {}
        for row in typed_rows:
            try:
                keys[row.pk] = model._meta.pk.to_python(row.object_id)
            except ValidationError:
                failures[row.pk] = Outcome.permanent_failure(
                    f"the target id {row.object_id!r} is not a {model._meta.label} key"
                )
        objects = model._base_manager.in_bulk(set(keys.values()))
        targets.update({pk: objects.get(key) for pk, key in keys.items()})
    return Targets(of=targets, failures=failures)


def recipient_of(backend, row):
    """Who ``row`` is for; a channel that keeps an address (email) sends where the row was
    written for, even if the user's address has changed since."""
    address = backend.kept_address(row)
    if row.user is None:
        return Recipient.for_address(address)
    return Recipient.for_user(row.user, **({"email": address} if address else {}))
