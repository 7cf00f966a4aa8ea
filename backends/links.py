"""Absolute links for channels read outside the site (email, chat): the ``domain`` option, or
the current Site's domain."""

from django.apps import apps
from django.conf import settings
from django.core.checks import Error


class SiteLinks:
    """Mixed into a backend that has ``domain`` and ``protocol`` attributes."""

    domain = None
    protocol = "https"

    def absolute_url(self, path):
        return f"{self.protocol}://{self.get_domain()}{path}" if path else ""

    def get_domain(self):
        if self.domain:
            return self.domain
        from django.contrib.sites.models import Site

        # The sites framework caches the current Site: one query per process, not per message.
        return Site.objects.get_current().domain

    def get_site_name(self):
        """The current Site's name, which an email's header shows; ``""`` where the ``domain``
        option stands in for the Site (the Site is then not consulted: a project may set the
        option because it has no sites framework), and the header shows the domain instead."""
        if self.domain:
            return ""
        from django.contrib.sites.models import Site

        return Site.objects.get_current().name

    def link_errors(self):
        """The checks of where the domain comes from: none when the ``domain`` option is set."""
        if self.domain:
            return []
        return site_errors(self.alias)


def site_errors(alias):
    """Why the current Site cannot give backend ``alias`` the domain of its absolute URLs.

    Not registered on its own: only a backend that takes its domain from the Site (the email
    backend without a "domain" option) reports these, from its ``check()``.
    """
    if not apps.is_installed("django.contrib.sites"):
        return [
            Error(
                f"NOTIFY_BACKENDS[{alias!r}]: django.contrib.sites is not in INSTALLED_APPS; absolute "
                "URLs in email need the current Site's domain.",
                hint='Add "django.contrib.sites" to INSTALLED_APPS and set SITE_ID, or give the '
                'backend a "domain" option.',
                id="spire_notify.E020",
            )
        ]
    if not getattr(settings, "SITE_ID", None):
        return [
            Error(
                f"NOTIFY_BACKENDS[{alias!r}]: SITE_ID is not set; outside a request there is no "
                "current Site to take the domain of email links from.",
                hint="Set SITE_ID = 1 (and the Site's domain in the admin), or give the backend a "
                '"domain" option.',
                id="spire_notify.E021",
            )
        ]
    return []
