from spire_notify import channel_apps


class AppriseChannelConfig(channel_apps.ChannelConfig):
    name = "spire_notify.channels.apprise"
    label = "spire_notify_apprise"
    verbose_name = "Notifications: Apprise"
    urls = "spire_notify.channels.apprise.urls"
    pages = "spire_notify.channels.apprise.pages.ApprisePages"

    def ready(self):
        # The channel's checks of the project's settings register on import.
        from spire_notify.channels.apprise import checks  # noqa: F401
