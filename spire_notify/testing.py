"""The backend contract as tests: what every notification backend must do, checked for yours.

Subclass ``BackendContract`` in your test suite, with pytest or Django's test runner::

    class TestSmsBackend(BackendContract):             # pytest
        backend_class = SmsBackend
        options = {"api_url": "https://sms.example.com/", "token": "t"}

        def working_transport(self):                    # a server the test starts, say
            return local_sms_server()                   # yields option overrides

        def broken_transport(self):
            return contextlib.nullcontext({"api_url": "http://127.0.0.1:9/"})

    class SmsBackendContractTests(BackendContract, SimpleTestCase): ...   # Django's runner

It checks that ``render()`` makes no query and opens no socket, that ``render_many()`` agrees
with ``render()``, that ``send()`` answers one ``Outcome`` per delivery in order and honours the
worker's guard, that the hook that hands a delivery over (``send_one()``, or
``send_to_destination()`` or ``send_group()`` where the backend has them) returns its
``Outcome``, that an ``Outcome`` cannot contradict itself, that a transport that raises becomes
outcomes rather than an exception, that ``check()`` is clean for valid options, and that an
unknown option is refused by name.
Every backend shipped with spire-notify passes it (tests/channels/test_backend_contract.py).

``isolated_notifiers()`` forgets, on leaving, the Notifier classes a test declared, so that a
test's classes meet neither the next test's nor the startup checks.
"""

import contextlib
import socket
from types import SimpleNamespace

from django.db import connections

from spire_notify.backends.base import Delivery, Outcome, OutcomeStatus, always_send
from spire_notify.exceptions import InvalidNotifyBackend
from spire_notify.message import Message, Recipient
from spire_notify.notification_types import declared_notifiers, forget_notifier


@contextlib.contextmanager
def isolated_notifiers():
    """Declare Notifier classes inside; they are forgotten when the block ends."""
    before = set(declared_notifiers())
    try:
        yield
    finally:
        for notifier_class in declared_notifiers():
            if notifier_class not in before:
                forget_notifier(notifier_class)


class ForbiddenDuringRender(AssertionError):
    """``render()`` reached for the database or the network."""


@contextlib.contextmanager
def no_queries_and_no_sockets():
    """Fail whatever runs inside on its first query or its first outgoing connection."""

    def refuse_query(execute, sql, params, many, context):
        raise ForbiddenDuringRender(f"render() ran a query: {sql}")

    def refuse_connect(self, address):
        raise ForbiddenDuringRender(f"render() opened a connection to {address!r}")

    original_connect = socket.socket.connect
    socket.socket.connect = refuse_connect
    try:
        with contextlib.ExitStack() as stack:
            for connection in connections.all(initialized_only=True):
                stack.enter_context(connection.execute_wrapper(refuse_query))
            yield
    finally:
        socket.socket.connect = original_connect


class BackendContract:
    """Mix into a test class; set ``backend_class`` and ``options``, override the hooks."""

    backend_class = None
    options = {}
    message = Message(
        event="contract.check",
        title="Deploy finished",
        body="All green & <done>.",
        path="/deploys/7/",
        priority="High",
        context={"build": 7},
    )

    # -- hooks ----------------------------------------------------------------------------

    def make_backend(self, **overrides):
        return self.backend_class(alias="contract", **(self.options | overrides))

    def make_recipients(self):
        return [
            Recipient(user_id=1, email="ada@example.com", name="Ada"),
            Recipient(user_id=2, email="grace@example.com", name="Grace"),
            Recipient(user_id=3, email="linus@example.com", name="Linus"),
        ]

    def make_notification(self, pk, recipient):
        """What ``send()`` sees of a row; a backend that reads more of it overrides this."""
        return SimpleNamespace(pk=pk, user=None, recipient=recipient)

    def working_transport(self):
        """A context manager in which sending succeeds; it yields option overrides."""
        return contextlib.nullcontext({})

    def broken_transport(self):
        """A context manager in which the transport raises (a closed port, say), or ``None``
        for a backend with nothing to transmit."""
        return None

    # -- the contract ---------------------------------------------------------------------

    def deliveries(self, backend):
        recipients = self.make_recipients()
        renderings = backend.render_many(self.message, recipients)
        return [
            Delivery(notification=self.make_notification(pk, recipient), rendered=rendered)
            for pk, (recipient, rendered) in enumerate(zip(recipients, renderings, strict=True), start=1)
        ]

    def test_render_makes_no_query_and_opens_no_socket(self):
        with self.working_transport() as overrides:
            backend = self.make_backend(**overrides)
            backend.check()  # whatever a backend caches from its configuration, it caches here
            with no_queries_and_no_sockets():
                backend.render(self.message, self.make_recipients()[0])
                backend.render_many(self.message, self.make_recipients())

    def test_render_many_renders_each_recipient_as_render_does(self):
        with self.working_transport() as overrides:
            backend = self.make_backend(**overrides)
            recipients = self.make_recipients()
            many = backend.render_many(self.message, recipients)
            one_by_one = [backend.render(self.message, recipient) for recipient in recipients]
        assert len(many) == len(recipients)
        assert [(r.body, r.url) for r in many] == [(r.body, r.url) for r in one_by_one]

    def test_send_answers_one_outcome_per_delivery_in_order(self):
        with self.working_transport() as overrides:
            backend = self.make_backend(**overrides)
            deliveries = self.deliveries(backend)
            outcomes = backend.send(deliveries)
            assert outcomes == [Outcome.success()] * len(deliveries)
            # A worker that can no longer send (its claim lapsed) withholds the rest, in order.
            withheld_from = deliveries[1].notification.pk

            def guard(delivery):
                return "withheld" if delivery.notification.pk >= withheld_from else None

            outcomes = backend.send(self.deliveries(backend), guard=guard)
        assert outcomes == [Outcome.success()] + [Outcome.not_sent("withheld")] * (len(deliveries) - 1)

    def test_the_hand_over_hook_returns_its_outcome(self):
        with self.working_transport() as overrides:
            backend = self.make_backend(**overrides)
            deliveries = self.deliveries(backend)
            first = deliveries[0]
            connection = backend.open()
            try:
                if backend.sends_to_destinations:
                    [destination, *_] = backend.destinations_of([first])[first.notification.pk]
                    hook, outcome = (
                        "send_to_destination",
                        backend.send_to_destination(connection, first, destination),
                    )
                elif (key := backend.group_key(first)) is not None:
                    group = [delivery for delivery in deliveries if backend.group_key(delivery) == key]
                    hook, outcome = "send_group", backend.send_group(connection, group)
                else:
                    batch = backend.prepare_batch([first], always_send)
                    extra = {} if batch is None else {"batch": batch}
                    hook, outcome = "send_one", backend.send_one(connection, first, **extra)
            finally:
                backend.close(connection)
        assert outcome == Outcome.success(), f"{hook}() returned {outcome!r}, not Outcome.success()"

    def test_an_outcome_cannot_contradict_itself(self):
        contradictions = [
            (lambda: Outcome(OutcomeStatus.SENT, "250 OK"), "a sent Outcome carries no error, not '250 OK'"),
            (lambda: Outcome.temporary(""), "a temporary Outcome needs an error that says why"),
            (lambda: Outcome.permanent_failure(""), "a permanent Outcome needs an error that says why"),
            (lambda: Outcome.skipped(""), "a skipped Outcome needs an error that says why"),
            (lambda: Outcome.not_sent(""), "a withheld Outcome needs an error that says why"),
        ]
        for build, message in contradictions:
            try:
                build()
            except ValueError as error:
                assert str(error) == message
            else:
                raise AssertionError(f"built a contradictory Outcome; expected {message!r}")

    def test_a_raising_transport_becomes_outcomes(self):
        broken = self.broken_transport()
        if broken is None:
            return
        with broken as overrides:
            backend = self.make_backend(**overrides)
            outcomes = backend.send(self.deliveries(backend))
        assert len(outcomes) == len(self.make_recipients())
        failed = {OutcomeStatus.TEMPORARY, OutcomeStatus.PERMANENT}
        assert all(isinstance(outcome, Outcome) and outcome.status in failed for outcome in outcomes)

    def test_check_is_clean_for_valid_options(self):
        with self.working_transport() as overrides:
            assert self.make_backend(**overrides).check() == []

    def test_an_unknown_option_is_refused_by_name(self):
        try:
            self.make_backend(no_such_option_x=1)
        except InvalidNotifyBackend as error:
            assert str(error) == "NOTIFY_BACKENDS['contract']: unknown option 'no_such_option_x'"
        else:
            raise AssertionError("an unknown option was accepted")
