"""spire_notify.message: the channel-agnostic Message and Recipient (no database)."""

import dataclasses
import json
from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spire_notify import Message, Recipient

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=8,
)

# Run time varies with the machine's load; a deadline would only make these properties flaky.
no_deadline = settings(deadline=None)


def test_summary_is_the_body():
    message = Message(event="e", title="A title", body="Priority: High - Purpose: App")
    assert message.summary == "Priority: High - Purpose: App"


def test_summary_falls_back_to_the_title_without_a_body():
    assert Message(event="e", title="A title").summary == "A title"


def test_message_is_immutable_and_so_is_its_context():
    source = {"ticket_id": 1}
    message = Message(event="e", title="t", context=source)
    source["ticket_id"] = 2
    assert message.context["ticket_id"] == 1
    with pytest.raises(FrozenInstanceError):
        message.title = "other"
    with pytest.raises(TypeError):
        message.context["ticket_id"] = 3


def test_payload_leaves_out_title_and_target():
    target = object()
    message = Message(
        event="helpdesk.ticket.new",
        title="T",
        body="b",
        path="/p/",
        priority="High",
        template="x.html",
        target=target,
        context={"k": [1]},
    )
    assert message.to_payload() == {
        "event": "helpdesk.ticket.new",
        "body": "b",
        "path": "/p/",
        "priority": "High",
        "language": "",
        "template": "x.html",
        "context": {"k": [1]},
    }


@no_deadline
@given(
    event=st.text(max_size=30),
    title=st.text(max_size=60),
    body=st.text(max_size=60),
    path=st.text(max_size=40),
    priority=st.sampled_from(["Low", "Medium", "High", "Urgent"]),
    context=st.dictionaries(st.text(max_size=10), json_values, max_size=4),
)
def test_payload_survives_json_and_rebuilds_the_same_message(event, title, body, path, priority, context):
    target = object()
    message = Message(
        event=event,
        title=title,
        body=body,
        path=path,
        priority=priority,
        target=target,
        context=context,
    )
    # The payload is stored in a JSONField: a worker rebuilds the message from its JSON.
    stored = json.loads(json.dumps(message.to_payload()))
    assert Message.from_payload(stored, title=title, target=target) == message


def test_recipient_defaults():
    assert Recipient(user_id=3) == Recipient(user_id=3, email="", name="")


def test_the_message_carries_no_vocabulary_of_one_application():
    """Application words (a ticket's purpose) travel in ``context``, where their templates read them."""
    assert {field.name for field in dataclasses.fields(Message)} == {
        "event",
        "title",
        "body",
        "path",
        "priority",
        "template",
        "language",
        "target",
        "context",
    }
