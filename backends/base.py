"""The contract every notification backend keeps, and the one send loop they share.

A backend has a pure half and an I/O half. ``render(message, recipient)`` returns what would be
sent and touches neither the database nor the network, so it can be property-tested.
``send(deliveries)`` transmits a whole batch over one connection and answers with one
``Outcome`` per delivery, in order: a failure is reported, never raised, so that one bad row
cannot stop the rest of the batch. An ``Outcome`` is one status and an error (the reason of
anything but a success), so it cannot say two things at once.

The loop of ``send`` lives here once, as django-anymail's ``send_messages`` does: a transmitting
backend fills the hooks (``BaseNotificationBackend`` lists them), and the loop owns the
connection's life, turns every exception into an ``Outcome``, reconnects after a lost
connection, and asks the worker's guard before each hand-off whether the row may still be sent
(the worker's claim on it may have lapsed, or the worker may be stopping).

A backend that sends each row to several destinations (a user's browsers, their chat URLs)
subclasses ``DestinationsBackend`` (``backends/per_destination.py``), which fills the loop's
``prepare_batch()`` and ``hand_over()`` hooks instead of ``send_one()``.
"""

from django.apps import apps
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured

from spire_notify.backends.lanes import InlineLane, ParallelLanes
from spire_notify.backends.outcomes import (
    Delivery,
    Outcome,
    OutcomeStatus,
    Rendered,
    SendGuard,
    always_send,
    as_send_guard,
    describe_error,
)
from spire_notify.backends.rates import parse_rate
from spire_notify.exceptions import InvalidNotifyBackend

__all__ = [
    "BaseNotificationBackend",
    "Delivery",
    "Outcome",
    "OutcomeStatus",
    "Rendered",
    "SendGuard",
    "always_send",
    "describe_error",
]


def hand_overs(deliveries, group_key):
    """``(key, [index, …])`` of each hand-over of a batch, in the order of its first delivery:
    ``(None, [index])`` for a delivery handed over on its own, and for a group, its key and
    the indexes of every delivery of the batch with that ``group_key``."""
    units, groups = [], {}
    for index, delivery in enumerate(deliveries):
        key = group_key(delivery)
        if key is None:
            units.append((None, [index]))
        elif key in groups:
            groups[key].append(index)
        else:
            groups[key] = [index]
            units.append((key, groups[key]))
    return units


def cleared_by(guard, deliveries, indexes):
    """``(cleared, reason)``: the ``indexes`` the guard lets go, in turn, up to the first it
    refuses, and its reason for that one (``None`` when it refused none)."""
    cleared = []
    for index in indexes:
        if reason := guard(deliveries[index]):
            return cleared, reason
        cleared.append(index)
    return cleared, None


class BaseNotificationBackend:
    """Subclasses accept their OPTIONS as keyword arguments and pass the rest up.

    What a backend declares:

    - ``transmits``: it hands messages to another system (SMTP, HTTP), so the worker delivers
      it after commit, and a duplicate is possible if a worker dies between that hand-off and
      recording it. A backend that delivers by writing (the in-app inbox) sets it to ``False``:
      ``notify()`` renders its rows and writes them ``sent`` in the caller's transaction.
    - ``detail_model``: ``"app_label.Model"`` of the row written beside each notification of
      this channel (one-to-one to ``Notification``), or ``None``. Delivery loads it with the
      notification, the admin shows it inline.
    - ``address_field``: the field of ``detail_model`` that keeps the address the row was
      written for (an email address), so a retry goes where the first attempt went.
    - ``route_field``: the field of ``detail_model`` that keeps which route took a sent row
      (the email channel's ``sent_through``: the mailer), for a backend whose sent ``Outcome``
      names one in ``via``; ``None`` (the default) for a backend with one route.
    - ``needs_account``: only users are reached, never a guest address.
    - ``supports_digest``: the channel can carry many notifications in one message, so its
      recipients may choose the ``"digest"`` mode (``spire_notify.worker.digests``).
    - ``admin_inline``: the ``InlineModelAdmin`` of ``detail_model`` in the notification admin;
      by default a plain stacked inline of it.
    - ``sends_to_destinations``: each row goes to several destinations, one by one
      (``DestinationsBackend``).

    How a transmitting backend hands a batch over, the hooks of ``send()``'s one loop:

    - ``open()`` the batch's connection; ``close()`` it after, or ``abort()`` it when the loop
      is stopped mid-send.
    - ``send_one(connection, delivery)`` hands one delivery over and **returns** its
      ``Outcome``: ``Outcome.success()``, or a failure it read from the reply (an HTTP 404 is
      ``Outcome.permanent_failure(...)``). It may raise instead: ``classify_error(error)``
      makes the exception an ``Outcome`` (temporary unless said otherwise), and
      ``connection_lost(error)`` says whether the next delivery needs a new connection.
    - ``prepare_batch(deliveries, guard)`` loads what the batch needs before the connection
      opens: per-user data (phone numbers, addresses, subscriptions) in one query for the whole
      batch. What it returns, if not ``None``, reaches ``send_one(connection, delivery,
      batch=...)``; a backend that loads nothing keeps the two-argument ``send_one``.
    - Deliveries that share one hand-over, as a team channel's post carries every recipient's
      row of one message: ``group_key(delivery)`` names the group (``None``, the default, hands
      the delivery over on its own), and ``send_group(connection, deliveries)`` hands a group
      over at once and returns the ``Outcome`` its deliveries share. A group is handed over
      where its first delivery stands in the batch, with the members the guard cleared.

    The guard, the withholding of the rest of a batch, the abort and the close are the loop's
    alone: a backend never overrides ``send()``.
    """

    transmits = True
    supports_digest = False
    detail_model = None
    address_field = None
    route_field = None
    needs_account = False
    tracks_reading = False
    admin_inline = None
    sends_to_destinations = False

    def __init__(self, *, alias, connections=1, rate_limit=None, **options):
        self.alias = alias
        self.max_connections = connections
        # The most hand-offs the provider accepts ("14/s", "600/m"), across every worker: the
        # worker's guard paces the channel (spire_notify.worker.pacing); None: as fast as it goes.
        self.rate_limit = rate_limit
        if options:
            names = ", ".join(repr(name) for name in sorted(options))
            noun = "option" if len(options) == 1 else "options"
            raise InvalidNotifyBackend(alias, f"unknown {noun} {names}", check_id="E005")

    def __repr__(self):
        return f"<{type(self).__name__} alias={self.alias!r}>"

    # -- what is stored -------------------------------------------------------------------

    @classmethod
    def get_detail_model(cls):
        if cls.detail_model is None:
            return None
        return apps.get_model(cls.detail_model)

    @classmethod
    def detail_relation(cls):
        """The name ``Notification`` reaches the detail row by (``select_related`` takes it)."""
        model = cls.get_detail_model()
        if model is None:
            return None
        return model._meta.get_field("notification").related_query_name()

    def accepts(self, recipient) -> bool:
        """Whether this channel can reach ``recipient`` at all."""
        if self.needs_account and recipient.user_id is None:
            return False
        if self.address_field is not None and not recipient.email:
            return False
        return True

    def build_detail(self, notification, recipient):
        """The unsaved ``detail_model`` row for ``notification``; ``None`` when there is none."""
        model = self.get_detail_model()
        if model is None:
            return None
        values = {self.address_field: recipient.email} if self.address_field else {}
        return model(notification=notification, **values)

    def kept_address(self, notification):
        """The address ``notification`` was written for, or ``""``."""
        relation = self.detail_relation()
        if relation is None or self.address_field is None:
            return ""
        detail = getattr(notification, relation, None)
        return getattr(detail, self.address_field, "") if detail is not None else ""

    # -- the pure half --------------------------------------------------------------------

    def render(self, message, recipient) -> Rendered:
        """What would be sent of ``message`` to ``recipient``. Pure: no database, no network."""
        raise NotImplementedError("subclasses of BaseNotificationBackend must define render()")

    def render_many(self, message, recipients) -> list[Rendered]:
        """Render one message for many recipients; override to share work between them."""
        return [self.render(message, recipient) for recipient in recipients]

    def render_digest(self, items, recipient) -> Rendered:
        """One message carrying ``items`` (the held ``Notification`` rows, newest first) for
        ``recipient``; a backend that sets ``supports_digest`` implements it."""
        raise NotImplementedError(
            f"{type(self).__name__} sets supports_digest but defines no render_digest()"
        )

    def read_among(self, notification_pks, *, using="default") -> set:
        """The pks of ``notification_pks`` (rows of this channel) that their recipient read; a
        backend that sets ``tracks_reading`` implements it."""
        raise NotImplementedError(f"{type(self).__name__} sets tracks_reading but defines no read_among()")

    def check_template(self, template_name) -> str:
        """``""`` when this backend can render a message whose ``template`` is
        ``template_name``; else one sentence naming the template and the engines that lack it.

        ``notify()`` asks once per template and channel of a call, before it writes anything, so
        a backend that renders templates answers from a cache and issues no query; the startup
        checks ask it of each Notifier channel's template (``spire_notify.E116``). By default
        ``""``: a backend that renders no templates renders any message."""
        return ""

    # -- the I/O half ---------------------------------------------------------------------

    def send(self, deliveries, *, guard=always_send) -> list["Outcome"]:
        """Transmit a batch over one connection, or over up to ``connections`` side by side;
        one ``Outcome`` per delivery, in order.

        ``guard(delivery)`` is asked before each hand-off (before each destination, for a
        backend that has them; before each member, for a group), always in the calling thread;
        a reason it returns withholds that delivery (and, as the reasons are the worker's — a
        lapsed claim, a stop — the rest). ``guard.settled()`` hears each outcome, in the same
        thread, before the hand-offs that follow it are cleared.
        """
        guard = as_send_guard(guard)
        try:
            batch = self.prepare_batch(deliveries, guard)
            connection = self.open()
        except ImproperlyConfigured:
            raise
        except Exception as error:
            # Nothing could be handed over: the whole batch shares the connection's fate.
            return [self.classify_error(error)] * len(deliveries)
        units = hand_overs(deliveries, self.group_key)
        width = min(self.connections_for(connection), len(units))
        if width > 1:
            lanes = ParallelLanes(self, connection, width, batch=batch)
        else:
            lanes = InlineLane(self, connection, guard=guard, batch=batch)
        outcomes = [None] * len(deliveries)
        reason = None

        def settle(ended):
            withheld = None
            for indexes, outcome in ended:
                if outcome.withheld:
                    withheld = outcome.error
                    continue
                for index in indexes:
                    outcomes[index] = outcome
                    guard.settled(deliveries[index], outcome)
            return withheld

        try:
            for key, indexes in units:
                if guard.paces:
                    lanes.wait_for_idle()
                cleared, reason = cleared_by(guard, deliveries, indexes)
                if cleared:
                    lanes.hand_over(key, cleared, [deliveries[index] for index in cleared])
                reason = settle(lanes.finished()) or reason
                if reason:
                    break
            reason = settle(lanes.close()) or reason
        except BaseException:
            # Stopped mid-send (a stop that could not wait, a configuration error): no polite
            # goodbye, which could block on the very peer that is stuck.
            lanes.abort()
            raise
        return [outcome or Outcome.not_sent(reason) for outcome in outcomes]

    def connections_for(self, connection):
        """How many connections a batch may use side by side (the ``connections`` option), given
        the one ``open()`` returned; a backend whose connections are local (an in-memory
        mailbox) answers 1."""
        return self.max_connections

    def prepare_batch(self, deliveries, guard):
        """What the hand-overs need of the whole batch, loaded before the connection opens: a
        backend that reads per-user data (phone numbers, subscriptions) loads the batch's here,
        in one query, rather than one query per delivery. ``None`` (the default): nothing."""
        return None

    def hand_over_unit(self, connection, key, deliveries, *, guard, batch):
        """``(outcome, connection)`` of one hand-over: a delivery on its own (``key`` is
        ``None``) through ``hand_over()``, a group's cleared deliveries through ``send_group()``."""
        if key is None:
            [delivery] = deliveries
            return self.hand_over(connection, delivery, guard=guard, batch=batch)
        return self.attempt(self.send_group, connection, deliveries)

    def hand_over(self, connection, delivery, *, guard, batch):
        """``(outcome, connection)``: ``send_one()``'s outcome, and the connection the next
        delivery goes over (a new one after a lost connection). ``send_one`` gets the batch
        ``prepare_batch()`` loaded, if it loaded one."""
        if batch is None:
            return self.attempt(self.send_one, connection, delivery)
        return self.attempt(self.send_one, connection, delivery, batch=batch)

    def attempt(self, hook, connection, handed, **keywords):
        """``(outcome, connection)`` of ``hook(connection, handed, **keywords)`` (``send_one``
        and a delivery, or ``send_group`` and a group): the outcome it returned, or
        ``classify_error()`` of what it raised; and the connection to go on with (a new one
        after a lost connection)."""
        try:
            outcome = hook(connection, handed, **keywords)
        except ImproperlyConfigured:
            raise
        except Exception as error:
            if self.connection_lost(error):
                connection = self.reopen(connection)
            return self.classify_error(error), connection
        return self.returned_outcome(hook.__name__, outcome), connection

    def returned_outcome(self, hook, outcome):
        """``outcome``, which the hook ``hook`` returned; a backend written to the old contract
        returns ``None`` from a hook that sent, and no row may be recorded from a guess."""
        if not isinstance(outcome, Outcome):
            raise ImproperlyConfigured(
                f"{type(self).__name__}.{hook}() returned {outcome!r}, not an Outcome: "
                "return Outcome.success() once the delivery is handed over."
            )
        return outcome

    def open(self):
        """Open and return the connection of one batch (``None`` where there is none)."""
        return None

    def send_one(self, connection, delivery) -> "Outcome":
        """Hand one delivery over and return its ``Outcome``; raising works too
        (``classify_error`` reads the exception). A backend whose ``prepare_batch()`` loads
        something defines it as ``send_one(self, connection, delivery, *, batch)``."""
        raise NotImplementedError("subclasses of BaseNotificationBackend must define send_one()")

    def group_key(self, delivery):
        """What the deliveries handed over together have in common (hashable), or ``None``
        for a delivery handed over on its own (the default)."""
        return None

    def send_group(self, connection, deliveries) -> "Outcome":
        """Hand over ``deliveries`` (cleared by the guard, sharing one ``group_key()``) at once,
        and return the ``Outcome`` they share; raising works too, as from ``send_one()``."""
        raise NotImplementedError("a backend whose group_key() groups deliveries must define send_group()")

    def close(self, connection):
        """Close what ``open()`` returned, politely (an SMTP QUIT, say)."""

    def abort(self, connection):
        """Drop what ``open()`` returned at once, saying nothing to the peer; by default, ``close()``."""
        self.close(connection)

    def classify_error(self, error) -> "Outcome":
        """The outcome of a delivery that raised ``error``; temporary unless said otherwise."""
        return Outcome.temporary(describe_error(error))

    def connection_lost(self, error) -> bool:
        """Whether ``error`` left the connection unusable, so the next delivery needs a new one."""
        return False

    def reopen(self, connection):
        """A fresh connection after a lost one; on failure the old one is kept, and the next
        delivery fails on its own and is recorded as a temporary error."""
        self.close(connection)
        try:
            return self.open()
        except Exception:
            return connection

    # -- configuration --------------------------------------------------------------------

    def check(self, **kwargs) -> list:
        """System check messages about this backend's configuration."""
        return []

    def option_errors(self) -> list:
        """The checks of the options every backend takes (``connections``, ``rate_limit``),
        which the system checks and ``validate()`` add to the backend's own ``check()``."""
        return self.connections_errors() + self.rate_limit_errors()

    def rate_limit_errors(self):
        if self.rate_limit is None:
            return []
        try:
            parse_rate(self.rate_limit)
        except ValueError as error:
            return [
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: {error}",
                    hint="Set OPTIONS['rate_limit'] to your provider's limit, e.g. \"14/s\" for Amazon "
                    "SES, or remove it to send as fast as the channel goes.",
                    id="spire_notify.E120",
                )
            ]
        return []

    def connections_errors(self):
        connections = self.max_connections
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
            return [
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: 'connections' must be a whole number of at "
                    f"least 1, not {connections!r}.",
                    hint="Set OPTIONS['connections'] to how many connections a batch may use side "
                    "by side, e.g. 4.",
                    id="spire_notify.E024",
                )
            ]
        if connections > 1 and self.sends_to_destinations:
            return [
                Error(
                    f"NOTIFY_BACKENDS[{self.alias!r}]: 'connections' above 1 is not supported by "
                    f"{type(self).__name__}, which sends each row to several destinations, one by one.",
                    hint="Remove OPTIONS['connections']; run more workers to send more at once.",
                    id="spire_notify.E025",
                )
            ]
        return []

    def validate(self):
        """Raise ``ImproperlyConfigured`` if nothing could be delivered as configured.

        A worker calls this before it claims any row, so misconfiguration stops it loudly
        instead of failing rows one by one.
        """
        errors = [message for message in self.option_errors() + self.check() if isinstance(message, Error)]
        if errors:
            raise ImproperlyConfigured("; ".join(f"{error.id}: {error.msg}" for error in errors))
