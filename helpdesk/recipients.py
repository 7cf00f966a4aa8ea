"""Who hears of a ticket: developers (in ADMINS) and managers (may delete tickets)."""

from email.utils import parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q
from django.db.models.functions import Lower

MANAGER_PERMISSION = ("spire_helpdesk", "delete_helpdeskticket")


def admin_address(entry):
    """The bare address of one ``ADMINS`` entry, or ``None`` if it is malformed.

    Django 6 lists addresses, bare or as ``"Name <address>"``; older projects list
    ``(name, address)`` pairs.
    """
    address = entry[1] if isinstance(entry, (tuple, list)) and len(entry) == 2 else entry
    if not isinstance(address, str):
        return None
    _, bare = parseaddr(address)
    return bare.strip() if "@" in bare else None


def admin_addresses():
    """The lower-cased addresses of ``settings.ADMINS``; malformed entries are reported by
    the ``spire_helpdesk.E001`` system check."""
    entries = getattr(settings, "ADMINS", [])
    return [address.lower() for address in map(admin_address, entries) if address]


def _has_manager_permission():
    app_label, codename = MANAGER_PERMISSION
    User = get_user_model()
    perm = {"codename": codename, "content_type__app_label": app_label}
    direct = User.user_permissions.through.objects.filter(
        **{User.user_permissions.field.m2m_field_name(): OuterRef("pk")},
        **{f"permission__{key}": value for key, value in perm.items()},
    )
    via_group = User.groups.through.objects.filter(
        **{User.groups.field.m2m_field_name(): OuterRef("pk")},
        group__in=Group.objects.filter(**{f"permissions__{key}": value for key, value in perm.items()}),
    )
    return Q(is_superuser=True) | Exists(direct) | Exists(via_group)


def ticket_audience():
    """Active developers and managers in one query, each annotated with its role(s).

    Mirrors Django's ModelBackend rules for the manager permission (own permission, a
    group's, or superuser), and matches ADMINS addresses case-insensitively.
    """
    User = get_user_model()
    email_field = User.get_email_field_name()
    is_developer = Q(email_lower__in=admin_addresses())
    is_manager = _has_manager_permission()
    return (
        User.objects.filter(is_active=True)
        .annotate(email_lower=Lower(email_field))
        .annotate(
            is_developer=ExpressionWrapper(is_developer, output_field=BooleanField()),
            is_manager=ExpressionWrapper(is_manager, output_field=BooleanField()),
        )
        .filter(Q(is_developer=True) | Q(is_manager=True))
        .order_by("pk")
    )
