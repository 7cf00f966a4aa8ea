"""What makes an installed app a channel: ``ChannelConfig``, and what it adds to the core's pages:
``ChannelPages``; and what any installed app adds to them: ``PageParts``.

A channel (the in-app inbox, email, Apprise, Web Push, the live inbox, a project's own SMS) is a
Django app that owns its backend, models, views, URLs, templates, checks and previews. The core
finds the installed ones through the app registry and never imports them: a project installs
the channels it uses, and a channel of its own plugs in the same way (docs/channels/own.md).

An app that is not a channel adds to the same pages through a ``notify_pages`` attribute on its
``AppConfig`` (the help desk adds its navigation so): the core renders what the installed apps
offer, and names none of them.
"""

import importlib
import importlib.util
from functools import cache

from django.apps import AppConfig, apps
from django.utils.module_loading import import_string


class ChannelConfig(AppConfig):
    """The ``AppConfig`` of a channel app. A channel's ``apps.py`` imports this module rather
    than the class, so that Django finds one ``AppConfig`` there and takes it as the default.

    - ``urls``: the dotted path of the channel's URLconf, included in ``spire_notify.urls``, so
      that its pages are named ``spire_notify:<name>`` beside the inbox and preferences.
    - ``pages``: the dotted path of the channel's ``ChannelPages`` subclass, what it adds to the
      core's pages. A path rather than the class, as ``apps.py`` is imported before any model.
    """

    default_auto_field = "django.db.models.BigAutoField"
    urls = None
    pages = None

    @property
    def channel_pages(self):
        """The channel's ``ChannelPages``; one that adds nothing where ``pages`` is unset."""
        return _load_pages(self.pages) if self.pages else ChannelPages()


class PageParts:
    """What an installed app adds to the pages of the core: a channel's ``ChannelConfig.pages``
    names it, another app's ``AppConfig.notify_pages``.

    ``parts``: a template for each place of a page the app puts something in; it is rendered
    with ``part_context(place, request)``, and left out where that is ``None``. The places:
    ``"head"`` (the ``<head>`` of every page: scripts), ``"links"`` (the main navigation, an
    ``<li>`` each), ``"user"`` (beside the signed-in user's name: the unread badge),
    ``"inbox"`` (the inbox, above its list: a button, the template the live inbox fills).
    """

    parts = {}

    def part_context(self, place, request):
        return {}


class ChannelPages(PageParts):
    """What a channel adds to the pages of the core, which renders every installed channel's:
    its ``parts`` (``PageParts``), and

    - ``settings_template``: the channel's section of the channels page
      (``spire_notify:channels``, "Chat and browser alerts"), shown where
      ``offers_settings(request)``, rendered with ``settings_context(request)``. Its form posts
      to that page, which hands the POST to each channel's ``settings_post(request)`` in turn.
    """

    settings_template = None

    def offers_settings(self, request):
        return False

    def settings_context(self, request):
        return {}

    def settings_post(self, request):
        """``None`` when the POST is not this channel's (the next channel is asked); else a
        response (a redirect once saved), or the section's context showing the form's errors."""
        return None


def installed_channels():
    """The ``ChannelConfig`` of every installed channel app, in ``INSTALLED_APPS`` order."""
    return [config for config in apps.get_app_configs() if isinstance(config, ChannelConfig)]


def installed_page_parts():
    """The ``PageParts`` of every installed app that adds to the core's pages, in
    ``INSTALLED_APPS`` order: a channel's ``pages``, another app's ``notify_pages`` (a dotted
    path, named so that it cannot be taken for an attribute of some other framework)."""
    found = []
    for config in apps.get_app_configs():
        path = config.pages if isinstance(config, ChannelConfig) else getattr(config, "notify_pages", None)
        if path:
            found.append(_load_pages(path))
    return found


@cache
def _load_pages(dotted_path):
    # One instance per class for the life of the process: the page classes keep no state.
    return import_string(dotted_path)()


def uninstalled_channel_of(dotted_path):
    """The name of the channel app that ``dotted_path`` (a backend class's) lies in when that
    app is not installed; ``None`` when it is, or when the path lies in no channel app.

    Found without importing the path: a channel's backend imports its models, which fail to
    import without their app. The innermost package with an ``apps.py`` decides; a channel's
    ``apps.py`` imports nothing but this module.
    """
    parts = dotted_path.split(".")[:-2]  # the class and its module
    for end in range(len(parts), 0, -1):
        package = ".".join(parts[:end])
        try:
            has_apps_module = importlib.util.find_spec(f"{package}.apps") is not None
        except ImportError:
            return None  # the path cannot be imported at all: E003 says so
        if has_apps_module:
            return package if _is_channel_app(package) and not apps.is_installed(package) else None
    return None


def _is_channel_app(package):
    module = importlib.import_module(f"{package}.apps")
    return any(
        isinstance(value, type) and issubclass(value, ChannelConfig) and value.name == package
        for value in vars(module).values()
    )
