"""P4: rendering one ticket's email for 1 and for 10 recipients, per inliner.

The recipients have names, and the default templates greet each by name and give each their
own unsubscribe link: the backend renders and inlines once per message and writes each
recipient in, so 10 recipients must cost at most 1.5× one.
"""

from spire_notify.channels.email.backend import EmailBackend
from spire_notify.message import Recipient

from . import population
from .measure import Row, Stopwatch, median, ms


def p4_rendering(repeats):
    message = population.new_ticket_message(population.quiet_ticket())
    recipients = [
        Recipient(user_id=index, email=f"r{index}@example.com", name=f"Recipient {index}")
        for index in range(10)
    ]
    rows = []
    for inliner in ("premailer", "css_inline"):
        backend = EmailBackend(alias="email", inliner=inliner)
        backend.render_many(message, recipients)
        one, ten = [], []
        for _ in range(repeats):
            with Stopwatch() as watch:
                backend.render_many(message, recipients[:1])
            one.append(watch.seconds)
            with Stopwatch() as watch:
                backend.render_many(message, recipients)
            ten.append(watch.seconds)
        one_s, ten_s = median(one), median(ten)
        rows.append(
            Row(
                id="P4",
                what=f"render a ticket for 10 named email recipients vs 1 ({inliner})",
                ours=ms(ten_s),
                baseline=ms(one_s),
                ratio=f"{ten_s / one_s:.2f}×",
                target="≤ 1.5×",
                met=ten_s / one_s <= 1.5,
                values={"ours": ten_s, "baseline": one_s},
            )
        )
    return rows
