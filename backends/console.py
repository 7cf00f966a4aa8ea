"""For development: prints every delivery to standard output."""

import sys

from .base import BaseNotificationBackend, Outcome, Rendered


class ConsoleBackend(BaseNotificationBackend):
    def __init__(self, *, alias, stream=None, **options):
        super().__init__(alias=alias, **options)
        self.stream = stream

    def render(self, message, recipient):
        text = f"To user {recipient.user_id}: {message.title}\n{message.summary}\n{message.path}"
        return Rendered(body=message.summary, url=message.path, content=text)

    def send(self, deliveries):
        stream = self.stream or sys.stdout
        for delivery in deliveries:
            stream.write(f"[{self.alias}] {delivery.rendered.content}\n{'-' * 60}\n")
        stream.flush()
        return [Outcome.success() for _ in deliveries]
