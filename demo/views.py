from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404
from django.shortcuts import render

from .mailbox import parts, read_message, read_messages


@staff_member_required
def mailbox(request):
    # With DEBUG on, every email is addressed to DEVELOPMENT_EMAIL; X-Original-To says whom
    # it was meant for.
    caught = [
        (name, message, message["X-Original-To"]) for name, message in read_messages(settings.MAILBOX_DIR)
    ]
    return render(request, "demo/mailbox.html", {"messages_caught": caught})


@staff_member_required
def mailbox_message(request, name):
    message = read_message(settings.MAILBOX_DIR, name)
    if message is None:
        raise Http404("No such message.")
    text, html = parts(message)
    return render(
        request,
        "demo/mailbox_message.html",
        {
            "message": message,
            "message_id": message["Message-ID"],
            "meant_for": message["X-Original-To"],
            "text": text,
            "html": html,
        },
    )
