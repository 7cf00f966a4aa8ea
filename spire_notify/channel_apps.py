"""What makes an installed app a channel: ``ChannelConfig``.

A channel (the in-app inbox, email, Apprise, Web Push, the live inbox, a project's own SMS) is a
Django app that owns its backend, models, views, URLs, templates, checks and previews. The core
finds the installed ones through the app registry and never imports them: a project installs
the channels it uses, and a channel of its own plugs in the same way (docs/contributing.md).
"""

from django.apps import AppConfig, apps


class ChannelConfig(AppConfig):
    """The ``AppConfig`` of a channel app. A channel's ``apps.py`` imports this module rather
    than the class, so that Django finds one ``AppConfig`` there and takes it as the default.

    - ``urls``: the dotted path of the channel's URLconf, included in ``spire_notify.urls``, so
      that its pages are named ``spire_notify:<name>`` beside the inbox and preferences.
    """

    default_auto_field = "django.db.models.BigAutoField"
    urls = None


def installed_channels():
    """The ``ChannelConfig`` of every installed channel app, in ``INSTALLED_APPS`` order."""
    return [config for config in apps.get_app_configs() if isinstance(config, ChannelConfig)]
