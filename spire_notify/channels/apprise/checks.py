"""The Apprise channel's checks of the project's settings (its backends check their own options):
the bounds of what users may save on the channels page. A malformed one would fail at the first
save, not at startup."""

from django.core.checks import Error, Tags, register

from spire_notify import conf
from spire_notify.checks import count_setting_errors


@register(Tags.security)
def check_user_schemes(app_configs=None, **kwargs):
    schemes = conf.get("NOTIFY_APPRISE_USER_SCHEMES")
    if isinstance(schemes, list | tuple | set | frozenset) and all(
        isinstance(scheme, str) and scheme == scheme.lower() for scheme in schemes
    ):
        return []
    return [
        Error(
            f"NOTIFY_APPRISE_USER_SCHEMES must be a list of lower-case Apprise schemes, not {schemes!r}.",
            hint='For example ["ntfy", "ntfys", "discord", "slack"].',
            id="spire_notify.E091",
        )
    ]


@register(Tags.security)
def check_address_cap(app_configs=None, **kwargs):
    return count_setting_errors("NOTIFY_MAX_APPRISE_ADDRESSES", check_id="spire_notify.E092")
