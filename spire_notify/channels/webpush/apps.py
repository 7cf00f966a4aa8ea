from spire_notify import channel_apps


class WebPushChannelConfig(channel_apps.ChannelConfig):
    name = "spire_notify.channels.webpush"
    label = "spire_notify_webpush"
    verbose_name = "Notifications: Web Push"
    urls = "spire_notify.channels.webpush.urls"
    pages = "spire_notify.channels.webpush.pages.WebPushPages"

    def ready(self):
        # The channel's checks of the project's settings register on import.
        from spire_notify.channels.webpush import checks  # noqa: F401
