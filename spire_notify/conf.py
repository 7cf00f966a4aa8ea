"""Settings with their defaults, read at call time so that ``override_settings`` works."""

from django.conf import settings

DEFAULT_NOTIFY_BACKENDS = {
    "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
    "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend", "OPTIONS": {}},
}

DEFAULTS = {
    # Type key -> dotted path of the Notifier subclass that sends it instead of the class it extends.
    "NOTIFY_NOTIFIERS": {},
    # How many rows one worker claims and delivers at a time.
    "NOTIFY_BATCH_SIZE": 100,
    # Attempts before a temporarily failing notification is given up as "failed".
    "NOTIFY_MAX_ATTEMPTS": 5,
    # First retry delay in seconds; doubled on every further attempt, with jitter.
    "NOTIFY_RETRY_BASE_DELAY": 60,
    # Cap on one retry delay, so that backoff never parks a row for days.
    "NOTIFY_RETRY_MAX_DELAY": 6 * 60 * 60,
    # How long a claim lasts: rows still "processing" after it are taken by another worker.
    "NOTIFY_LEASE_SECONDS": 300,
    # How long one row may take to reach all its destinations (a user's browsers, chat URLs):
    # the rest wait for a retry, so one row never holds a worker and its batch for hours. At
    # most half the lease, as a worker renews its claim once half of it has gone (E100).
    "NOTIFY_DELIVERY_DEADLINE_SECONDS": 60,
    # After SIGTERM, how long a send already on the wire may take before it is abandoned.
    "NOTIFY_STOP_GRACE_SECONDS": 10,
    # How often an open page polls the unread count of the inbox badge, in seconds.
    "NOTIFY_BADGE_POLL_SECONDS": 15,
    # Live inbox: the badge and the inbox list follow server-sent events instead of polling
    # (needs the "live" extra and an ASGI server; see docs/live-inbox.md).
    "NOTIFY_LIVE_UPDATES": False,
    # Live streams one user may hold open at once, per process: enough for a person's tabs
    # and devices; the next stream is refused and its page polls. Counted per process, so
    # with N web processes a user may hold up to N times this.
    "NOTIFY_LIVE_MAX_STREAMS_PER_USER": 10,
    # How often an open live stream checks that its session still signs its user in, in
    # seconds: the longest a stream outlives a logout, an expired session or a password
    # change. Each check costs what one poll of the badge does (NOTIFY_BADGE_POLL_SECONDS).
    "NOTIFY_LIVE_SESSION_CHECK_SECONDS": 15,
    # How many times in a row a receiver may throttle one row (SMTP 421, HTTP 429) before the
    # row fails: throttling costs no attempt, and a relay that throttles forever must not keep
    # a row forever.
    "NOTIFY_MAX_THROTTLES": 10,
    # Where the pace of rate-limited channels (a backend's "rate_limit" option) is shared by
    # every worker: None, the database (the ChannelPace table); or a Redis URL
    # ("redis://host:6379/0", "rediss://…", "unix://…"), which spares the database a write per
    # block of hand-offs. Needs the "redis" extra.
    "NOTIFY_RATE_LIMIT_STORE": None,
    # The django.tasks backend alias that delivery is enqueued on.
    "NOTIFY_TASK_BACKEND": "default",
    # Whether writing rows enqueues the delivery task. Off where a periodic worker (cron, or
    # process_notifications --loop) delivers and no task worker runs: a queue that stores its
    # tasks (django-tasks-db) would keep every one of them READY for good.
    "NOTIFY_ENQUEUE_DELIVERY": True,
    # The digest window in seconds: held notifications go out together when their window ends.
    "NOTIFY_DIGEST_INTERVAL": 86400,
    # What notify() does with a message whose event is not a registered notification type:
    # "warn" logs a warning and writes it (no preference applies to it); "error" raises
    # UnknownNotificationType and writes nothing. New projects set "error" (the quick start).
    "NOTIFY_UNKNOWN_EVENTS": "warn",
    # Dotted path of a callable (user or guest address) -> language code or None; None: LANGUAGE_CODE.
    "NOTIFY_RECIPIENT_LANGUAGE": None,
    # Networks (CIDR) that users' Apprise URLs and push endpoints may reach although they are
    # not public (a self-hosted ntfy on the LAN). Empty: users' URLs reach public addresses only,
    # so that a user cannot make the worker call the site's internal services.
    "NOTIFY_ALLOWED_PRIVATE_NETWORKS": [],
    # The Apprise schemes users may save for themselves: chat and push services that post to
    # their own API. Not the generic json://, form://, xml:// (any method, any header, any
    # host), nor email or local ones; team URLs in NOTIFY_BACKENDS are not limited by it.
    "NOTIFY_APPRISE_USER_SCHEMES": [
        "discord",
        "gchat",
        "gotify",
        "gotifys",
        "matrix",
        "matrixs",
        "mmost",
        "mmosts",
        "ntfy",
        "ntfys",
        "pbul",
        "pover",
        "rocket",
        "rockets",
        "slack",
        "tgram",
        "workflows",
        "zulip",
    ],
    # How many Apprise URLs one user may keep: a few phones and chats, not a fan-out list
    # that turns one notification into thousands of requests.
    "NOTIFY_MAX_APPRISE_ADDRESSES": 10,
    # How many browsers one user may have subscribed to push.
    "NOTIFY_MAX_PUSH_SUBSCRIPTIONS": 20,
}


UNKNOWN_EVENTS_CHOICES = ("warn", "error")


def is_positive_whole_number(value):
    """Whether a count setting holds a count: an ``int`` above 0 (``True`` is an ``int`` to
    Python, not a count)."""
    return type(value) is int and value > 0


def is_seconds(value):
    """Whether a duration setting holds a number of seconds (an ``int`` or a ``float``, not a
    ``bool``); its range is the caller's to check."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def get(name):
    return getattr(settings, name, DEFAULTS[name])


def backend_settings():
    configured = getattr(settings, "NOTIFY_BACKENDS", None)
    return DEFAULT_NOTIFY_BACKENDS if configured is None else configured
