"""For development: prints every delivery to standard output."""

import sys

from spire_notify.backends.base import BaseNotificationBackend, Outcome, Rendered


class ConsoleBackend(BaseNotificationBackend):
    def __init__(self, *, alias, stream=None, **options):
        super().__init__(alias=alias, **options)
        self.stream = stream

    def render(self, message, recipient):
        who = recipient.email if recipient.user_id is None else f"user {recipient.user_id}"
        text = f"To {who}: {message.title}\n{message.summary}\n{message.path}"
        return Rendered(body=message.summary, url=message.path, content=text)

    def open(self):
        return self.stream or sys.stdout

    def send_one(self, stream, delivery):
        stream.write(f"[{self.alias}] {delivery.rendered.content}\n{'-' * 60}\n")
        return Outcome.success()

    def close(self, stream):
        stream.flush()
