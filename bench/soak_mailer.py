"""Django's SMTP mailer, greeting with ``EHLO soak-worker-<pid>``: the soak's sink writes that
name beside every message it accepts, so that a message accepted twice can be traced to the
worker process that handed over the first copy, and to whether the soak killed it.

Only the connection class changes: ``send_messages`` and ``_send`` are Django's, so the email
channel still takes its flattened, pipelined path (``spire_notify.pinned.django_smtp``).
"""

import os
import smtplib

from django.core.mail.backends.smtp import EmailBackend

NAME_PREFIX = "soak-worker-"


def worker_name(pid=None):
    return f"{NAME_PREFIX}{pid or os.getpid()}"


class WorkerNamedSMTP(smtplib.SMTP):
    def __init__(self, *args, local_hostname=None, **kwargs):
        super().__init__(*args, local_hostname=worker_name(), **kwargs)


class WorkerNamedSMTPBackend(EmailBackend):
    @property
    def connection_class(self):
        return WorkerNamedSMTP
