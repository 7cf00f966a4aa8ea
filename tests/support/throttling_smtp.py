"""An aiosmtpd server on 127.0.0.1 that throttles like a provider's relay, and records when
each message it accepted arrived, by its own clock.

``throttle_first``: the first N messages get ``reply`` ("451 4.7.0 Rate limit exceeded" by
default, or a 421); ``throttle_all`` answers it to every message.
"""

import email
import threading
import time

from tests.support.delivery_harness import SmtpServerThread

RATE_LIMIT_REPLY = "451 4.7.0 Rate limit exceeded, slow down"


class ThrottlingHandler:
    def __init__(self, *, throttle_first=0, throttle_all=False, reply=RATE_LIMIT_REPLY):
        self.throttle_first = throttle_first
        self.throttle_all = throttle_all
        self.reply = reply
        self.lock = threading.Lock()
        self.seen = 0
        self.arrivals = []  # (time.time() on arrival, Message-ID) of each message accepted

    async def handle_DATA(self, server, session, envelope):
        arrived = time.time()
        with self.lock:
            self.seen += 1
            if self.throttle_all or self.seen <= self.throttle_first:
                return self.reply
            message_id = email.message_from_bytes(envelope.content)["Message-ID"]
            self.arrivals.append((arrived, message_id))
        return "250 Message accepted for delivery"

    def most_in_any_window(self, seconds):
        """The most messages accepted within any ``seconds`` long (half-open) window."""
        with self.lock:
            times = sorted(arrived for arrived, _ in self.arrivals)
        most, first = 0, 0
        for last, arrived in enumerate(times):
            while arrived - times[first] >= seconds:
                first += 1
            most = max(most, last - first + 1)
        return most


class ThrottlingRelay(SmtpServerThread):
    def __init__(self, **handler_options):
        super().__init__(ThrottlingHandler(**handler_options))
