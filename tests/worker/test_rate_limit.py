"""A channel's ``rate_limit`` in one worker: hand-offs spaced at the rate as the SMTP server
sees them, the store asked once per block, and the fast path of a channel without a limit
exactly as many queries as before the option existed."""

import pytest
from django.contrib.sites.models import Site
from django.test import override_settings

from spire_notify import Message, notify
from spire_notify.conf import DEFAULT_NOTIFY_BACKENDS
from spire_notify.worker import pipeline
from spire_notify.worker.process import process_notifications
from tests.support.delivery_harness import DUMMY_TASKS
from tests.support.throttling_smtp import ThrottlingRelay

pytestmark = pytest.mark.django_db

MESSAGE = Message(event="test", title="Deploy finished", body="All green.", path="/deploys/7/")
# The queries of delivering three email rows in one batch with no rate limit: the same number
# as on main before rate limits existed (measured there with this test's first half).
FAST_PATH_QUERIES = 11


def email_options(**options):
    email = DEFAULT_NOTIFY_BACKENDS["email"]
    return {"NOTIFY_BACKENDS": {**DEFAULT_NOTIFY_BACKENDS, "email": {**email, "OPTIONS": options}}}


def test_without_a_rate_limit_the_fast_path_costs_what_it_did_and_a_limit_one_query_a_block(
    make_user, django_assert_num_queries, monkeypatch
):
    # At 2/s the three rows take a second to send: the count is of one write at the batch's end,
    # not of the write a second that a longer batch adds (test_records_as_it_sends.py).
    monkeypatch.setattr(pipeline, "RECORD_EVERY_SECONDS", 3600)
    with ThrottlingRelay() as relay, override_settings(TASKS=DUMMY_TASKS, **relay.mail_settings()):
        with override_settings(**email_options(connections=1)):
            Site.objects.clear_cache()
            notify(MESSAGE, {make_user(name): ["email"] for name in ("a", "b", "c")})
            with django_assert_num_queries(FAST_PATH_QUERIES):
                process_notifications()
        # A slow rate: a hand-off later than half an interval drops its slot and takes a new
        # block (one more query), which a loaded machine does at 100/s (11 ms apart).
        with override_settings(**email_options(connections=1, rate_limit="2/s")):
            notify(MESSAGE, {make_user(name): ["email"] for name in ("d", "e", "f")})
            Site.objects.clear_cache()  # each run reads the current Site once, as the first did
            # The channel's first block makes its ChannelPace row: an UPDATE that finds none,
            # the INSERT, the UPDATE that takes the block.
            with django_assert_num_queries(FAST_PATH_QUERIES + 3):
                process_notifications()
            notify(MESSAGE, {make_user(name): ["email"] for name in ("g", "h", "i")})
            Site.objects.clear_cache()
            with django_assert_num_queries(FAST_PATH_QUERIES + 1):
                process_notifications()
    assert len(relay.handler.arrivals) == 9


@pytest.mark.parametrize("connections", [1, 4])
def test_one_worker_spaces_its_hand_offs_at_the_rate_as_the_server_sees_them(make_user, connections):
    with (
        ThrottlingRelay() as relay,
        override_settings(
            TASKS=DUMMY_TASKS,
            **relay.mail_settings(),
            **email_options(connections=connections, rate_limit="10/s"),
        ),
    ):
        notify(MESSAGE, {make_user(f"u{index}"): ["email"] for index in range(15)})
        assert process_notifications()["sent"] == 15
    arrivals = sorted(arrived for arrived, _ in relay.handler.arrivals)
    # 15 hand-offs at least 0.1 s apart (0.111 s: the pacer spends 90 % of the rate): over
    # 1.4 s from the first to the last, whatever the connections.
    assert arrivals[-1] - arrivals[0] >= 1.4
    # One interval of jitter (a hand-off may arrive late, the next on time) and no more.
    assert relay.handler.most_in_any_window(1.0 - 0.1) <= 10
