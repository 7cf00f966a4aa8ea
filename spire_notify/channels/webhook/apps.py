from spire_notify import channel_apps


class WebhookChannelConfig(channel_apps.ChannelConfig):
    name = "spire_notify.channels.webhook"
    label = "spire_notify_webhook"
    verbose_name = "Notifications: webhooks"
