"""What the in-app inbox adds to every page of the core: the unread badge beside the user's name,
and ``badge.js``, which keeps its count current."""

from spire_notify.channel_apps import ChannelPages
from spire_notify.channels.app.templatetags.notification_tags import badge_context


class AppPages(ChannelPages):
    parts = {"head": "spire_notify/badge_script.html", "user": "spire_notify/badge.html"}

    def part_context(self, place, request):
        if place == "head":
            return {}
        return badge_context(getattr(request, "user", None))
