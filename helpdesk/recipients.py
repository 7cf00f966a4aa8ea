"""Who hears of a ticket: developers and managers (who may delete tickets).

Developers are the active users whose email address is in ``ADMINS``, compared after
``normalise_address``, or, when ``SPIRE_HELPDESK_DEVELOPERS`` names a group, that group's
active members. An address is only as trustworthy as the project's check of it: see "Who is a
developer" in docs/help-desk-notifications.md.
"""

import string
from email.utils import parseaddr
from functools import reduce

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, Value
from django.db.models.functions import Replace
from django.db.models.lookups import In
from django.utils.encoding import punycode

MANAGER_PERMISSION = ("spire_helpdesk", "delete_helpdeskticket")

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalise_address(address):
    """``address`` as developer addresses are compared, or ``None`` if it is not one.

    ASCII letters are lower-cased and the domain takes its IDNA (``xn--``) form; nothing else is
    folded. Mail servers treat ASCII case alike, but other characters of the local part are the
    mailbox's own: a database's Unicode lower() would make the Kelvin sign K an ASCII k.
    """
    local, at, domain = (address or "").strip().rpartition("@")
    if not (local and at and domain):
        return None
    try:
        domain = punycode(domain)
    except UnicodeError:  # an empty or overlong label: no domain at all
        return None
    return f"{local.translate(_ASCII_LOWER)}@{domain.lower()}"


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
    """The normalised addresses of ``settings.ADMINS``; malformed entries are reported by
    the ``spire_helpdesk.E001`` system check."""
    entries = getattr(settings, "ADMINS", [])
    normalised = (normalise_address(address) for address in map(admin_address, entries) if address)
    return list(dict.fromkeys(address for address in normalised if address))


def developer_group():
    """The group name of ``SPIRE_HELPDESK_DEVELOPERS``, or ``None`` when developers are ADMINS."""
    name = getattr(settings, "SPIRE_HELPDESK_DEVELOPERS", None)
    if name is not None and not isinstance(name, str):
        raise ImproperlyConfigured(
            f"SPIRE_HELPDESK_DEVELOPERS must be the name of a group (a string), not {name!r}."
        )
    return name


def _ascii_lower(expression):
    """``expression`` with ASCII letters lower-cased in the database, and nothing else.

    The database's LOWER() folds other letters too (PostgreSQL's makes the Kelvin sign K a k);
    REPLACE() is plain text substitution on every database.
    """
    return reduce(
        lambda lowered, letter: Replace(lowered, Value(letter), Value(letter.lower())),
        string.ascii_uppercase,
        expression,
    )


def _written_forms(address):
    """The ways a database may hold a normalised address: its domain in IDNA or in Unicode."""
    local, _, domain = address.rpartition("@")
    try:
        unicode_domain = domain.encode("ascii").decode("idna")
    except UnicodeError:
        return {address}
    return {address, f"{local}@{unicode_domain}"}


def _may_be_developer(group):
    """A condition the database checks, true of the developers.

    With a group it is exact. With ADMINS it finds an address written with its domain in IDNA or
    in lower-case Unicode (as Django's ``normalize_email`` stores it), and ``with_roles`` then
    compares the normalised addresses in Python, so a column's collation (one that ignores
    case or accents) cannot widen the match.
    """
    User = get_user_model()
    if group is not None:
        return Exists(
            User.groups.through.objects.filter(
                **{User.groups.field.m2m_field_name(): OuterRef("pk")}, group__name=group
            )
        )
    forms = sorted({form for address in admin_addresses() for form in _written_forms(address)})
    if not forms:
        return Q(pk__in=[])
    return In(_ascii_lower(F(User.get_email_field_name())), forms)


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


def with_roles(users, *, handlers_only=False):
    """``users`` (a queryset) as a list, each with ``is_developer`` and ``is_manager`` set.

    One query. Mirrors Django's ModelBackend rules for the manager permission (own permission,
    a group's, or superuser). ``handlers_only`` keeps developers and managers only.
    """
    group = developer_group()
    admins = set(admin_addresses())
    email_field = get_user_model().get_email_field_name()
    annotated = users.annotate(
        may_be_developer=ExpressionWrapper(_may_be_developer(group), output_field=BooleanField()),
        is_manager=ExpressionWrapper(_has_manager_permission(), output_field=BooleanField()),
    )
    if handlers_only:
        annotated = annotated.filter(Q(may_be_developer=True) | Q(is_manager=True))
    found = []
    for user in annotated:
        user.is_developer = bool(user.may_be_developer) and (
            group is not None or normalise_address(getattr(user, email_field)) in admins
        )
        if user.is_developer or user.is_manager or not handlers_only:
            found.append(user)
    return found


def ticket_audience():
    """Active developers and managers in one query, each with ``is_developer`` and ``is_manager``."""
    return with_roles(get_user_model().objects.filter(is_active=True).order_by("pk"), handlers_only=True)
