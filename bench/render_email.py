"""Time to render one ticket email, per CSS inliner: ``python -m bench.render_email``.

Renders ``helpdesk/email/ticket_new.html`` with the email backend, as the worker does once per
message, without touching the database (the ticket is unsaved and the domain is fixed).
"""

import os
import sys

from .measure import Stopwatch, median

INLINERS = ("premailer", "css_inline", None)


def sample_message():
    from django.contrib.auth import get_user_model

    from spire_notify.helpdesk.models import HelpDeskTicket

    from . import population

    ticket = HelpDeskTicket(
        pk=4242, created_by=get_user_model()(username="requester"), **population.TICKET_FIELDS
    )
    return population.new_ticket_message(ticket)


def measure(repeats=200):
    """Median milliseconds of one rendering per inliner, and the size of the HTML produced."""
    from spire_notify.channels.email.backend import EmailBackend

    message = sample_message()
    figures = {}
    for inliner in INLINERS:
        backend = EmailBackend(alias="email", inliner=inliner, domain="helpdesk.example.com")
        url = backend.absolute_url(message.path)
        html = backend.render_content(message, url).html
        times = []
        for _ in range(repeats):
            with Stopwatch() as watch:
                backend.render_content(message, url)
            times.append(watch.seconds)
        figures[str(inliner)] = {"ms": median(times) * 1000, "html_bytes": len(html.encode())}
    return figures


def describe(figures):
    return "\n".join(
        f"  render one ticket email, inliner={name:<10} {figure['ms']:7.3f} ms"
        f"  ({figure['html_bytes']:,} B of HTML)"
        for name, figure in figures.items()
    )


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    print(describe(measure(repeats)))


if __name__ == "__main__":
    main()
