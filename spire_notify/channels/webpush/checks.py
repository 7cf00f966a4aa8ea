"""The Web Push channel's check of the project's settings (its backends check their own options):
how many browsers one user may subscribe. A malformed cap would fail at the first subscription,
not at startup."""

from django.core.checks import Tags, register

from spire_notify.checks import count_setting_errors


@register(Tags.security)
def check_subscription_cap(app_configs=None, **kwargs):
    return count_setting_errors("NOTIFY_MAX_PUSH_SUBSCRIPTIONS", check_id="spire_notify.E092")
