"""Secret URLs shown, recorded and logged without their secrets.

A user's Apprise URL carries a ntfy topic, a webhook token or an ``Authorization`` header; a
push endpoint lets anyone who knows it post to a browser. The channels page shows them masked
(``ntfy://••••c0de``), and so must everything written where others read: ``last_error`` (shown
in the admin), and log lines, including those of the libraries that post to them (Apprise logs
a ntfy topic in its warnings, urllib3 the path of every request at DEBUG).

``redact(text, urls)`` hides every part of ``urls`` in ``text``; while ``urls_redacted(urls)``
is active, the log records of those libraries go through the same redaction.
"""

import contextlib
import contextvars
import logging
import re
from urllib.parse import unquote, urlsplit

# How much of a secret URL may be shown: enough to tell two apart, too little to use one.
VISIBLE_TAIL = 4
HIDDEN = "••••"
# Parts shorter than this are left in text: hiding every "x" or "id" would garble messages,
# and no usable secret is that short.
SHORTEST_SECRET_PART = 4
# What separates the parts of a URL (and, decoded, of a header value such as "Bearer …").
URL_SEPARATORS = re.compile(r"[/?&#=:@,;+\s]+")
# The loggers that write the URLs they are given: Apprise's (warnings name a ntfy topic),
# urllib3's (the path of each request, and of each retry, at DEBUG), pywebpush's (the endpoint,
# when verbose).
LIBRARY_LOGGERS = ("apprise", "urllib3.connectionpool", "urllib3.util.retry", "pywebpush")

_secret_urls = contextvars.ContextVar("spire_notify_secret_urls", default=())


def mask_url(url):
    """``ntfy://••••c0de``: the scheme and the last characters of a secret URL."""
    scheme = urlsplit(url).scheme or "?"
    tail = url[-VISIBLE_TAIL:] if len(url) > 3 * VISIBLE_TAIL else ""
    return f"{scheme}://{HIDDEN}{tail}"


def secret_parts(url):
    """Every part of ``url`` after its scheme that could be a secret, longest first, as written
    and percent-decoded: the host may be a webhook id or a bot token, the path a topic, a
    query value a header."""
    rest = url.split("://", 1)[-1]
    parts = {rest, unquote(rest)}
    for spelling in (rest, unquote(rest)):
        parts.update(URL_SEPARATORS.split(spelling))
    return sorted((part for part in parts if len(part) >= SHORTEST_SECRET_PART), key=len, reverse=True)


def redact(text, urls):
    """``text`` with each of ``urls`` masked, and each of their parts hidden wherever it is."""
    for url in urls:
        text = text.replace(url, mask_url(url))
    for url in urls:
        for part in secret_parts(url):
            text = text.replace(part, HIDDEN)
    return text


@contextlib.contextmanager
def urls_redacted(urls):
    """Redact ``urls`` from the libraries' log records written inside this block (and in the
    threads Apprise starts from it, which copy the context)."""
    install_log_filters()
    token = _secret_urls.set(tuple(_secret_urls.get()) + tuple(urls))
    try:
        yield
    finally:
        _secret_urls.reset(token)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and its traceback) without the current block's URLs."""

    def filter(self, record):
        urls = _secret_urls.get()
        if urls:
            record.msg, record.args = redact(record.getMessage(), urls), None
            if record.exc_info:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info), urls)
                record.exc_info = None
        return True


_filter = RedactingFilter()


def install_log_filters():
    """Attach the filter to the libraries' loggers once; a filter on a logger sees only the
    records of that very logger, so each is named."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
