"""An exception reporter filter that masks the URLs of ``NOTIFY_BACKENDS``.

Django's ``SafeExceptionReporterFilter`` hides a setting by the name of its key (``SECRET``,
``KEY``, ``TOKEN``, …), so it hides a webhook's ``secret`` and a ``vapid_private_key``, and
shows a webhook's ``url`` and Apprise ``urls`` in full: a token in a query string, a ntfy topic,
a Slack webhook path. The settings are on the DEBUG error page and in the error emails Django
sends to ``ADMINS`` with DEBUG off, and the error page shows the local variables of every frame,
where spire-notify's own code holds the options of the backend it builds or uses.

Django takes the filter from ``DEFAULT_EXCEPTION_REPORTER_FILTER`` (or from an attribute a
middleware sets on each request), so a project names this class there; the ``spire_notify.W031``
check warns while it does not.
"""

from django.views.debug import SafeExceptionReporterFilter

from spire_notify.masking import mask_url

OWN_PACKAGE = "spire_notify."


class MaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, which also masks every URL in ``NOTIFY_BACKENDS`` as the channels page
    masks a user's addresses (``ntfy://••••c0de``)."""

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if key == "NOTIFY_BACKENDS":
            return mask_urls_in(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not tb_frame.f_globals.get("__name__", "").startswith(OWN_PACKAGE):
            return variables
        # spire-notify's frames hold backend options as they are built and used (``config``,
        # ``options``, ``secret``, ``url``): hidden and masked as they are in the settings.
        return [(name, mask_urls_in(self.cleanse_setting(name, value))) for name, value in variables]


def mask_urls_in(value):
    """``value`` with every string that holds a URL masked, through dicts, lists and tuples."""
    if isinstance(value, dict):
        return {key: mask_urls_in(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_urls_in(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_urls_in(item) for item in value)
    # A scheme and an address, Apprise's ``ntfy://topic`` as much as ``https://host/path``; a
    # ``mailto:`` contact is no secret, and a backend's dotted path has no ``://``.
    if isinstance(value, str) and "://" in value:
        return _masked_url(value)
    return value


def _masked_url(url):
    """``mask_url(url)``, for any text: a URL too malformed to parse is masked whole."""
    try:
        return mask_url(url)
    except ValueError:  # urlsplit() refuses a malformed IPv6 host; the error page must not fail
        return "?://••••"
