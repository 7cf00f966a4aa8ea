"""The demo's users, with known passwords. Running it again changes nothing."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

DEMO_USERS = [
    # username, password, role, group
    ("developer", "developer", "in ADMINS: app + email notifications", "Developers"),
    ("manager", "manager", "may delete tickets: app notifications", "Managers"),
    ("requester", "requester", "files tickets", "Requesters"),
]

GROUP_PERMISSIONS = {
    "Developers": ["view_helpdeskticket", "change_helpdeskticket"],
    "Managers": ["view_helpdeskticket", "change_helpdeskticket", "delete_helpdeskticket"],
    "Requesters": ["view_helpdeskticket", "add_helpdeskticket"],
}


def point_site_at(port):
    """Email links lead back to the demo server rather than to example.com."""
    from django.contrib.sites.models import Site

    Site.objects.update_or_create(pk=1, defaults={"domain": f"127.0.0.1:{port}", "name": "Demo help desk"})


def seed_users():
    User = get_user_model()
    for username, password, _, group_name in DEMO_USERS:
        group, _ = Group.objects.get_or_create(name=group_name)
        group.permissions.set(
            Permission.objects.filter(
                content_type__app_label="spire_helpdesk", codename__in=GROUP_PERMISSIONS[group_name]
            )
        )
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.com", "is_staff": True}
        )
        if created:
            user.set_password(password)
            user.save()
        user.groups.add(group)
    return [(username, password, role) for username, password, role, _ in DEMO_USERS]
