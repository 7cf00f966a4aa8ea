"""What the help desk adds to spire-notify's pages: its links (Tickets, New ticket) in the main
navigation of every page, the inbox and the preferences included. Named by the app's
``notify_pages``, so the core shows them where the help desk is installed and names it nowhere."""

from django.urls import NoReverseMatch, reverse

from spire_notify.channel_apps import PageParts


class HelpDeskPages(PageParts):
    parts = {"links": "helpdesk/nav_links.html"}

    def part_context(self, place, request):
        try:
            links = [
                (reverse("spire_helpdesk:ticket_list"), "Tickets"),
                (reverse("spire_helpdesk:ticket_create"), "New ticket"),
            ]
        except NoReverseMatch:
            return None  # installed, but its URLs are not included: spire_helpdesk.W002 says so
        current = getattr(request, "path", None)
        return {"links": [{"url": url, "label": label, "current": url == current} for url, label in links]}
