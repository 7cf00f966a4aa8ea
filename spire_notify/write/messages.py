"""A message as the write side stores it: built in each reader's language, validated against
what the database can keep, and the target it is about as a (content type, id) pair."""

import json
from dataclasses import replace

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import translation

from spire_notify.store.models import Notification


def message_in(message, language):
    """``message`` as written for readers of ``language``, validated: a builder is called in
    that language; a plain ``Message`` is the same text for every language."""
    if callable(message):
        with translation.override(language):
            message = message()
    message = replace(message, language=language)
    validate_message(message)
    return message


def validate_message(message):
    """Refuse what the database would refuse later, with the field it is about."""
    errors = {}
    for name, value in (("event", message.event), ("title", message.title)):
        max_length = Notification._meta.get_field(name).max_length
        if len(value) > max_length:
            errors[name] = f"{name} has {len(value)} characters; at most {max_length} are stored."
    stored_text = json.dumps([message.title, message.body, message.to_payload()])
    # PostgreSQL stores no U+0000 in text or JSON; checking the JSON finds it anywhere inside.
    if "\\u0000" in stored_text:
        errors["body"] = "the message contains a NUL character (U+0000), which cannot be stored."
    if errors:
        raise ValidationError(errors)


def target_key(target):
    """``(ContentType, id)`` of what a message is about; ``(None, "")`` for nothing."""
    if target is None:
        return None, ""
    return ContentType.objects.get_for_model(target), str(target.pk)
