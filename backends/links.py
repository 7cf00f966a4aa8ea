"""Absolute links for channels read outside the site (email, chat): the ``domain`` option, or
the current Site's domain."""


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

    def link_errors(self):
        """The checks of where the domain comes from: none when the ``domain`` option is set."""
        if self.domain:
            return []
        from spire_notify.checks import site_errors

        return site_errors(self.alias)
