"""The webhook's signing secrets: their keys, making a new one, and the checks of the option.

A Standard Webhooks secret is ``whsec_`` and the base64 of a random key, and the specification's
reference libraries (``standardwebhooks`` on PyPI, and its ports) base64-decode *any* string
they are given, prefix or not. So a receiver that follows the specification can only verify
requests signed with a ``whsec_`` secret. A plain string still signs with its UTF-8 bytes, as it
always did, so that receivers already set up with one keep working; a check warns about it.

The ``secret`` option may also be a list: every request then carries one signature per secret
(the specification's way to rotate keys), so sender and receivers switch one after the other
without a refused delivery.
"""

import base64
import binascii
import secrets

from django.core.checks import Error, Warning

WHSEC_PREFIX = "whsec_"
# 32 bytes: within the 24 to 64 the specification asks for, and as strong as the SHA-256 HMAC.
KEY_BYTES = 32
NEW_SECRET_COMMAND = "python manage.py webhook_secret"


def secret_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: a ``whsec_`` secret's base64 decoded as the reference libraries
    decode it (padding optional), any other string's UTF-8 bytes."""
    if not secret.startswith(WHSEC_PREFIX):
        return secret.encode()
    encoded = secret.removeprefix(WHSEC_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


def generate_secret() -> str:
    """A new Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return WHSEC_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def secrets_of(secret):
    """The option as a list: one secret, or the several that sign each request while rotating."""
    return [secret] if isinstance(secret, str) else list(secret)


def secret_messages(alias, secret):
    """The check messages about the webhook backend ``alias``'s ``secret`` option."""
    setting = f"NOTIFY_BACKENDS[{alias!r}]"
    wrong_type = _wrong_type(secret)
    if wrong_type:
        return [
            Error(
                f"{setting}: the webhook 'secret' must be a string or a list of strings, not {wrong_type}.",
                hint="Set OPTIONS['secret'] to a 'whsec_' secret, or to a list of them while "
                "switching from one to the next.",
                id="spire_notify.E033",
            )
        ]
    if not secret or not all(secrets_of(secret)):
        return [
            Error(
                f"{setting}: the webhook has no 'secret'; receivers could not tell its requests "
                "from forged ones.",
                hint=f"Set OPTIONS['secret'] to the output of '{NEW_SECRET_COMMAND}', and give it "
                "to the receiver too.",
                id="spire_notify.E030",
            )
        ]
    if not all(_is_usable(each) for each in secrets_of(secret)):
        return [
            Error(
                f"{setting}: the webhook 'secret' starts with 'whsec_' but the rest is not the "
                "base64 of a key.",
                hint="Copy the secret again from where it was made, or make a new one with "
                f"'{NEW_SECRET_COMMAND}'.",
                id="spire_notify.E032",
            )
        ]
    if not any(each.startswith(WHSEC_PREFIX) for each in secrets_of(secret)):
        return [
            Warning(
                f"{setting}: the webhook 'secret' is not a Standard Webhooks 'whsec_' secret; "
                "receivers that verify with the Standard Webhooks libraries refuse every request "
                "it signs.",
                hint=f"Run '{NEW_SECRET_COMMAND}' for a new secret, and give it to the receiver too; "
                "list the old one after it to switch without a refused delivery.",
                id="spire_notify.W030",
            )
        ]
    return []


def _wrong_type(secret):
    """What ``secret`` is when it is neither a string nor a list of strings; ``""`` when it is.
    Only its type is named: the value is a secret, and check output ends up in logs."""
    if isinstance(secret, str):
        return ""
    if not isinstance(secret, list | tuple):
        return type(secret).__name__
    wrong = [type(each).__name__ for each in secret if not isinstance(each, str)]
    return f"a list holding {wrong[0]}" if wrong else ""


def _is_usable(secret):
    try:
        return bool(secret_key(secret))
    except (binascii.Error, ValueError):
        return False
