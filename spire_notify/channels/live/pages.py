"""What the live inbox adds to the core's pages: ``live.js`` on every page, and on the inbox the
template a new notification's item is made from."""

from spire_notify.channel_apps import ChannelPages
from spire_notify.channels.live import events


class LivePages(ChannelPages):
    parts = {"head": "spire_notify/live_script.html", "inbox": "spire_notify/live_inbox_item.html"}

    def part_context(self, place, request):
        # live.js is loaded on every page: it does nothing where the badge has no events URL.
        if place == "head" or events.enabled():
            return {}
        return None
