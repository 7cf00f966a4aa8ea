"""What the email channel adds to the core's pages: the link to the email previews, for staff."""

from spire_notify.channel_apps import ChannelPages


class EmailPages(ChannelPages):
    parts = {"links": "spire_notify/email_previews_link.html"}

    def part_context(self, place, request):
        user = getattr(request, "user", None)
        return {} if user is not None and user.is_staff else None
