from spire_notify import channel_apps


class LiveChannelConfig(channel_apps.ChannelConfig):
    name = "spire_notify.channels.live"
    label = "spire_notify_live"
    verbose_name = "Notifications: live inbox"
    urls = "spire_notify.channels.live.urls"
    pages = "spire_notify.channels.live.pages.LivePages"

    def ready(self):
        # The live inbox's checks register on import; it listens for notifications only while
        # NOTIFY_LIVE_UPDATES is on.
        from spire_notify.channels.live import checks, events  # noqa: F401

        events.connect_receivers()
