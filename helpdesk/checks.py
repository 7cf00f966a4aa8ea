from django.conf import settings
from django.core.checks import Error, Tags, register

from .recipients import admin_address


@register(Tags.compatibility)
def check_admins(app_configs=None, **kwargs):
    """Developers are found by their address in ADMINS: a malformed entry silently drops one."""
    errors = []
    for index, entry in enumerate(getattr(settings, "ADMINS", [])):
        if admin_address(entry) is None:
            errors.append(Error(
                f"ADMINS[{index}] is {entry!r}, which is neither an email address nor a "
                "(name, address) pair; that developer gets no help desk notifications.",
                hint='List addresses: ADMINS = ["dev@example.com"].',
                id="helpdesk.E001",
            ))
    return errors
