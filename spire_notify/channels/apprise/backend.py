"""Chat and 100+ other services through Apprise (the ``apprise`` extra).

Two modes, chosen by the ``urls`` option:

- **bulk** (``urls`` set): a team channel. One post per message, whatever the number of
  recipients, as Noticed's bulk deliveries do; the rows of that message share its outcome.
- **per user** (no ``urls``): each user's own Apprise URLs (``AppriseAddress`` rows, which the
  user edits at ``notifications/channels/``); a user with none is skipped. Each URL is a
  destination (``backends/per_destination.py``): posted to on its own, within the row's one
  deadline, its failure kept with it, and not posted to again when the row is retried.

A message is its title, a one-line short body and the absolute link, as Markdown to services
that prefer Markdown or HTML (Apprise turns it into HTML where needed) and as plain text to
the others. A service Apprise rejects (a malformed or unknown URL) fails for good; a service
that does not answer well is retried. Every call has a total deadline, ``timeout``.

A user's URL is the user's input, not the operator's: it must be of a service in
``NOTIFY_APPRISE_USER_SCHEMES``, may not set the request's method or headers, and may reach
public addresses only (``spire_notify.destinations``), when saved and again when posted. URLs
appear masked in recorded errors and in Apprise's log lines (``spire_notify.masking``).
"""

import re
import warnings
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from django.core.checks import Error
from django.utils.text import Truncator

from spire_notify import conf
from spire_notify.backends.base import Outcome, Rendered
from spire_notify.backends.links import SiteLinks
from spire_notify.backends.per_destination import DestinationsBackend
from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.destinations import connections_checked, url_refusal
from spire_notify.masking import HIDDEN, mask_url, urls_redacted

try:
    import apprise
    from apprise.utils.parse import parse_url as parse_apprise_url
except ImportError:  # the optional extra is not installed: check E050 says so
    apprise = None

# Chat lines are read at a glance: longer bodies are cut, the link leads to the rest.
SHORT_BODY_CHARS = 280
# Characters that start Markdown formatting anywhere in a line; "<", ">" and "&" become
# entities instead, which Markdown renderers and Slack both read as the character itself.
MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]])")
MARKDOWN_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# What a line may not start with unescaped: a heading, a list item, a numbered list item.
MARKDOWN_LINE_START = re.compile(r"^(#|[-+]|\d+(?=[.)]))")
# Apprise reads these query parameters as the shape of the request itself: ``method=DELETE``,
# ``+Header=value`` (a header), ``-key`` (a payload key dropped), ``:key=value`` (one set).
REQUEST_SHAPING_PREFIXES = ("+", "-", ":")


@dataclass(frozen=True)
class ChatMessage:
    title: str
    text: str
    markdown: str


def short_text(text):
    """``text`` on one line (newlines and runs of spaces collapsed), cut to a chat line."""
    return Truncator(" ".join(text.split())).chars(SHORT_BODY_CHARS)


def escape_markdown(text):
    """``text`` (one line) as Markdown that renders as exactly ``text``."""
    escaped = MARKDOWN_SPECIALS.sub(r"\\\1", text)
    escaped = "".join(MARKDOWN_ENTITIES.get(character, character) for character in escaped)
    match = MARKDOWN_LINE_START.match(escaped)
    if match is None:
        return escaped
    if match.group(1)[0].isdigit():
        # "1. " starts a list; "1\. " does not.
        return escaped[: match.end()] + "\\" + escaped[match.end() :]
    return "\\" + escaped


def prefers_markdown(service):
    """Whether the service's first format is Markdown or HTML (which Apprise converts to)."""
    formats = service.notify_format
    preferred = formats[0] if isinstance(formats, tuple) else formats
    return preferred in (apprise.NotifyFormat.MARKDOWN, apprise.NotifyFormat.HTML)


@cache
def load_services():
    """Load Apprise's services once, before the first URL is read.

    Its email service imports ``imghdr`` (for PGPy), deprecated in Python 3.12: the warning is
    not ours to fix, and where warnings are errors (the test suite) it would stop delivery.
    """
    from apprise.manager_plugins import NotificationManager

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
        NotificationManager().load_modules()


def service_of(url):
    """The Apprise service of ``url``, or ``None`` for a URL Apprise rejects."""
    load_services()
    # Apprise logs each URL it loads, in full.
    with urls_redacted([url]):
        return apprise.Apprise.instantiate(url)


def rejected_urls(urls):
    return [url for url in urls if service_of(url) is None]


def validate_apprise_url(url):
    """Whether Apprise accepts ``url`` (known scheme, well formed); builds no connection."""
    return apprise is not None and service_of(url) is not None


def request_shaping_parameters(url):
    """The parameters of ``url`` that would choose the request's method, headers or payload."""
    parsed = parse_apprise_url(url, verify_host=False) or {}
    return sorted(
        key for key in parsed.get("qsd", {}) if key == "method" or key.startswith(REQUEST_SHAPING_PREFIXES)
    )


def names_a_host(url):
    """Whether the service of ``url`` (one Apprise accepts) reads a host to connect to in it, as
    its URL templates say: ntfy's, Gotify's, Matrix's do; Discord's, Slack's, Telegram's name
    ids and tokens there (``tgram://170000000:AAH…``) and post to their own API."""
    return any("{host}" in template for template in service_of(url).templates)


def user_url_refusal(url):
    """Why a user may not have ``url`` (an Apprise URL Apprise accepts) posted to, or ``None``."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in conf.get("NOTIFY_APPRISE_USER_SCHEMES"):
        return f"{scheme}:// is not among the services users may add"
    shaping = request_shaping_parameters(url)
    if shaping:
        return f"it sets the request's method or headers ({', '.join(shaping)})"
    reason = url_refusal(url) if names_a_host(url) else None
    return f"it leads to {reason}" if reason else None


class AppriseBackend(SiteLinks, DestinationsBackend):
    """Options:

    - ``urls``: Apprise URLs of a team channel (bulk mode); leave it out for per-user mode.
    - ``timeout``: seconds one post may take in all, and each connect and read within it
      (default 10).
    - ``domain`` and ``protocol``: of the link; default the current Site's domain, https.
    """

    def __init__(self, *, alias, urls=None, timeout=10, domain=None, protocol="https", **options):
        super().__init__(alias=alias, **options)
        self.urls = urls
        self.timeout = timeout
        self.domain = domain
        self.protocol = protocol
        # Per-user mode reaches accounts only; bulk mode takes every recipient's row.
        self.needs_account = urls is None

    @property
    def bulk(self):
        return self.urls is not None

    # -- the pure half --------------------------------------------------------------------

    def render(self, message, recipient):
        url = self.absolute_url(message.path)
        title = short_text(message.title)
        body = short_text(message.summary)
        text = f"{body}\n\n{url}" if url else body
        markdown = f"{escape_markdown(body)}\n\n<{url}>" if url else escape_markdown(body)
        return Rendered(body=body, url=url, content=ChatMessage(title=title, text=text, markdown=markdown))

    # -- the I/O half ---------------------------------------------------------------------

    @property
    def sends_to_destinations(self):
        return not self.bulk

    def group_key(self, delivery):
        # One post per message in bulk mode: the rows of one message share its rendering.
        return delivery.rendered.content if self.bulk else None

    def send_group(self, connection, deliveries):
        return self.post(self.urls, deliveries[0].rendered.content)

    def prepare_batch(self, deliveries, guard):
        # A team channel has no per-user destinations to load, nor receipts of them.
        return None if self.bulk else super().prepare_batch(deliveries, guard)

    def destinations_of(self, deliveries):
        users = {delivery.notification.user_id for delivery in deliveries}
        by_user = defaultdict(list)
        for user_id, url in AppriseAddress.objects.filter(user_id__in=users).values_list("user_id", "url"):
            by_user[user_id].append(url)
        return {delivery.notification.pk: by_user[delivery.notification.user_id] for delivery in deliveries}

    def destination_key(self, url):
        return url

    def send_to_destination(self, connection, delivery, url):
        return self.post([url], delivery.rendered.content)

    def no_destinations(self):
        return Outcome.skipped("the user has no Apprise address")

    def post(self, urls, content):
        """Post ``content`` to every service of ``urls``; the outcome of them all.

        A user's URL is checked again here (the rules or its host's addresses may have changed
        since it was saved), and every connection its service opens is checked as it opens.
        """
        checking = nullcontext([]) if self.bulk else connections_checked()
        with urls_redacted(urls), checking as refused_connections:
            by_format, masked, rejected = self.services(urls)
            failures = self.notify_services(by_format, masked, content)
        if refused_connections:
            refusals = "; ".join(f"refused a connection to {reason}" for reason in refused_connections)
            return Outcome.permanent_failure("Apprise: " + "; ".join([refusals, *failures]))
        if failures:
            return Outcome.temporary("Apprise: " + "; ".join(failures))
        if rejected:
            return Outcome.permanent_failure("Apprise rejects " + ", ".join(rejected))
        return Outcome.success()

    def services(self, urls):
        """The services of ``urls`` by whether they take Markdown, their masked URLs by Apprise's
        id of each (its results name a service by its full URL, secrets and all), and the
        masked URLs refused."""
        by_format = {True: apprise.Apprise(), False: apprise.Apprise()}
        masked, rejected = {}, []
        for url in urls:
            service = service_of(url)
            refusal = None if self.bulk or service is None else user_url_refusal(url)
            if service is None or refusal:
                rejected.append(f"{mask_url(url)} ({refusal})" if refusal else mask_url(url))
                continue
            service.socket_connect_timeout = min(service.socket_connect_timeout, self.timeout)
            service.socket_read_timeout = min(service.socket_read_timeout, self.timeout)
            masked[service.url_id()] = mask_url(url)
            by_format[prefers_markdown(service)].add(service)
        return by_format, masked, rejected

    def notify_services(self, by_format, masked, content):
        """Notify each group in its format; ``"<service> (<masked URL>) failed"`` per failure."""
        failures = []
        for markdown, services in by_format.items():
            if not len(services):
                continue
            result = services.notify(
                title=content.title,
                body=content.markdown if markdown else content.text,
                body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT,
                timeout=self.timeout,
            )
            failures += [
                f"{service.name} ({masked.get(service.url_id, HIDDEN)}) failed"
                for service in result
                if not service
            ]
        return failures

    # -- configuration --------------------------------------------------------------------

    def check(self, **kwargs):
        if apprise is None:
            return [
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: the Apprise backend needs the apprise package.",
                    hint="pip install 'spire-notify[apprise]'",
                    id="spire_notify.E050",
                )
            ]
        errors = self.link_errors()
        if self.bulk and (
            isinstance(self.urls, str) or not self.urls or not all(isinstance(url, str) for url in self.urls)
        ):
            errors.append(
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: 'urls' must be a non-empty list of Apprise URLs.",
                    hint='Set OPTIONS["urls"] to e.g. ["slack://…"], or leave it out for per-user mode.',
                    id="spire_notify.E051",
                )
            )
        elif self.bulk:
            errors += [
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: Apprise rejects the URL {mask_url(url)}.",
                    hint="Check the URL's scheme and form against Apprise's list of services.",
                    id="spire_notify.E052",
                )
                for url in rejected_urls(self.urls)
            ]
        return errors
