"""What the Web Push channel adds to the core's pages: the "Enable browser notifications" button
on the inbox, and a section of the channels page with this user's browsers."""

from spire_notify.channel_apps import ChannelPages
from spire_notify.channels.webpush.models import PushSubscription
from spire_notify.channels.webpush.views import push_backend, push_button_context


class WebPushPages(ChannelPages):
    parts = {"inbox": "spire_notify/push_button.html"}
    settings_template = "spire_notify/push_section.html"

    def part_context(self, place, request):
        # No button without a key to subscribe with.
        context = push_button_context(push_backend())
        return context if context["push_key"] else None

    def offers_settings(self, request):
        return push_backend() is not None

    def settings_context(self, request):
        return {
            "push_browsers": PushSubscription.objects.filter(user=request.user).count(),
            **push_button_context(push_backend()),
        }
