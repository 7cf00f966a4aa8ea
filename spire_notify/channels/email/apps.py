from spire_notify import channel_apps


class EmailChannelConfig(channel_apps.ChannelConfig):
    name = "spire_notify.channels.email"
    label = "spire_notify_email"
    verbose_name = "Notifications: email"
    urls = "spire_notify.channels.email.urls"
    pages = "spire_notify.channels.email.pages.EmailPages"

    def ready(self):
        # The channel's checks of the project register on import.
        from spire_notify.channels.email import checks  # noqa: F401
