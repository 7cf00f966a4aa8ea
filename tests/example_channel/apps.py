"""An SMS channel, the example of docs/channels/own.md: a channel of a project's own."""

from spire_notify import channel_apps


class SmsChannelConfig(channel_apps.ChannelConfig):
    name = "tests.example_channel"
    label = "example_sms"
    verbose_name = "Notifications: SMS"
    urls = "tests.example_channel.urls"  # its pages are spire_notify:<name>
    pages = "tests.example_channel.pages.SmsPages"  # its section of the channels page
