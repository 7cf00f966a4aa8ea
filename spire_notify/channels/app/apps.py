from spire_notify import channel_apps


class AppChannelConfig(channel_apps.ChannelConfig):
    name = "spire_notify.channels.app"
    label = "spire_notify_app"
    verbose_name = "Notifications: in-app inbox"
    urls = "spire_notify.channels.app.urls"
    pages = "spire_notify.channels.app.pages.AppPages"
