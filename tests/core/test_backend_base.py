"""The one send loop of ``BaseNotificationBackend``: hand-overs alone and in groups, the guard
before each, and the Outcome each hook returns."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured

from spire_notify.backends.base import BaseNotificationBackend, Delivery, Outcome, OutcomeStatus, Rendered
from spire_notify.backends.per_destination import DestinationsBackend


class TopicBackend(BaseNotificationBackend):
    """Posts once per topic (``Rendered.content``) to a board it keeps; a delivery without a
    topic goes on its own. ``replies`` scripts what a topic's post answers."""

    def __init__(self, *, alias, replies=None, **options):
        super().__init__(alias=alias, **options)
        self.replies = replies or {}
        self.board = []  # (hook, [notification pk, …]) in the order handed over
        self.connections = []  # ("open" | "close" | "abort", connection number)

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def open(self):
        self.connections.append(("open", len(self.connections)))
        return len(self.connections)

    def close(self, connection):
        self.connections.append(("close", connection))

    def abort(self, connection):
        self.connections.append(("abort", connection))

    def group_key(self, delivery):
        return delivery.rendered.content

    def send_group(self, connection, deliveries):
        self.board.append(("send_group", [delivery.notification.pk for delivery in deliveries]))
        reply = self.replies.get(deliveries[0].rendered.content, Outcome.success())
        if isinstance(reply, Exception):
            raise reply
        return reply

    def send_one(self, connection, delivery):
        self.board.append(("send_one", [delivery.notification.pk]))
        return Outcome.success()

    def connection_lost(self, error):
        return isinstance(error, ConnectionResetError)


def batch(*topics):
    """One delivery per topic (``None``: handed over alone), numbered from 1."""
    return [
        Delivery(notification=SimpleNamespace(pk=pk), rendered=Rendered(body="b", url="", content=topic))
        for pk, topic in enumerate(topics, start=1)
    ]


def test_a_group_is_handed_over_once_where_its_first_delivery_stands():
    backend = TopicBackend(alias="board")

    outcomes = backend.send(batch("deploys", "outages", None, "deploys"))

    assert backend.board == [("send_group", [1, 4]), ("send_group", [2]), ("send_one", [3])]
    assert outcomes == [Outcome.success()] * 4
    assert backend.connections == [("open", 0), ("close", 1)]


def test_a_groups_outcome_is_every_members_outcome_in_the_batchs_order():
    backend = TopicBackend(
        alias="board", replies={"outages": Outcome.permanent_failure("HTTP 404 Not Found")}
    )

    outcomes = backend.send(batch("outages", "deploys", "outages"))

    assert outcomes == [
        Outcome.permanent_failure("HTTP 404 Not Found"),
        Outcome.success(),
        Outcome.permanent_failure("HTTP 404 Not Found"),
    ]


def test_the_guard_clears_a_groups_members_in_turn_and_its_refusal_withholds_the_rest():
    backend = TopicBackend(alias="board")

    outcomes = backend.send(
        batch("deploys", "deploys", "deploys", "outages"),
        guard=lambda delivery: "the claim lapsed" if delivery.notification.pk == 3 else None,
    )

    # Those cleared before the refusal go in one post; the refused one and the rest wait.
    assert backend.board == [("send_group", [1, 2])]
    assert outcomes == [Outcome.success()] * 2 + [Outcome.not_sent("the claim lapsed")] * 2


def test_a_group_that_raises_is_classified_and_a_lost_connection_is_opened_again():
    backend = TopicBackend(alias="board", replies={"deploys": ConnectionResetError("peer reset")})

    outcomes = backend.send(batch("deploys", "outages", "deploys"))

    assert outcomes == [
        Outcome.temporary("ConnectionResetError: peer reset"),
        Outcome.success(),
        Outcome.temporary("ConnectionResetError: peer reset"),
    ]
    assert backend.connections == [("open", 0), ("close", 1), ("open", 2), ("close", 3)]


def test_a_group_withheld_by_its_hook_withholds_itself_and_the_rest():
    backend = TopicBackend(alias="board", replies={"outages": Outcome.not_sent("the worker is stopping")})

    outcomes = backend.send(batch("deploys", "outages", None, "outages"))

    assert outcomes == [Outcome.success()] + [Outcome.not_sent("the worker is stopping")] * 3
    assert backend.board == [("send_group", [1]), ("send_group", [2, 4])]


class OldContractBackend(TopicBackend):
    """Written to the old contract: send_one() raises on failure and returns nothing."""

    def group_key(self, delivery):
        return None

    def send_one(self, connection, delivery):
        self.board.append(("send_one", [delivery.notification.pk]))


def test_a_send_one_that_returns_no_outcome_stops_the_batch_loudly():
    backend = OldContractBackend(alias="old")

    with pytest.raises(ImproperlyConfigured) as raised:
        backend.send(batch(None, None))

    assert str(raised.value) == (
        "OldContractBackend.send_one() returned None, not an Outcome: "
        "return Outcome.success() once the delivery is handed over."
    )
    # Not recorded from a guess, and no second delivery after the first went unaccounted for.
    assert backend.board == [("send_one", [1])]
    assert backend.connections == [("open", 0), ("abort", 1)]


class OldContractDestinations(DestinationsBackend):
    timeout = 1

    def render(self, message, recipient):
        return Rendered(body=message.summary, url=message.path)

    def destinations_of(self, deliveries):
        return {delivery.notification.pk: ["laptop"] for delivery in deliveries}

    def destination_key(self, destination):
        return destination

    def send_to_destination(self, connection, delivery, destination):
        pass


def test_a_send_to_destination_that_returns_no_outcome_stops_the_batch_loudly():
    with pytest.raises(ImproperlyConfigured) as raised:
        OldContractDestinations(alias="old").send(batch(None))

    assert str(raised.value) == (
        "OldContractDestinations.send_to_destination() returned None, not an Outcome: "
        "return Outcome.success() once the delivery is handed over."
    )


def test_an_outcome_is_one_status_and_the_flags_are_views_of_it():
    assert Outcome("permanent", "550 no such user") == Outcome.permanent_failure("550 no such user")
    assert [
        (outcome.status, outcome.sent, outcome.permanent, outcome.withheld, outcome.skip)
        for outcome in (
            Outcome.success(),
            Outcome.temporary("451 later"),
            Outcome.permanent_failure("550 never"),
            Outcome.skipped("switched off"),
            Outcome.not_sent("stopping"),
        )
    ] == [
        (OutcomeStatus.SENT, True, False, False, False),
        (OutcomeStatus.TEMPORARY, False, False, False, False),
        (OutcomeStatus.PERMANENT, False, True, False, False),
        (OutcomeStatus.SKIPPED, False, False, False, True),
        (OutcomeStatus.WITHHELD, False, False, True, False),
    ]
    with pytest.raises(ValueError, match="^'delivered' is not a valid OutcomeStatus$"):
        Outcome("delivered")


def test_a_sent_outcome_may_say_which_route_took_it_and_still_equals_a_plain_success():
    through_backup = Outcome.success(via="backup")
    assert (through_backup.sent, through_backup.via) == (True, "backup")
    # The send loop and the callers written before routes compare outcomes by status and error.
    assert through_backup == Outcome.success()
    assert Outcome.success().via == ""
    with pytest.raises(ValueError, match="^a temporary Outcome was sent through no route, not 'backup'$"):
        Outcome(OutcomeStatus.TEMPORARY, "451 later", via="backup")
