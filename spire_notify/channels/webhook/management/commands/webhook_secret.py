"""``manage.py webhook_secret``: print a new Standard Webhooks signing secret."""

from django.core.management.base import BaseCommand

from spire_notify.channels.webhook.secrets import generate_secret


class Command(BaseCommand):
    help = (
        "Print a new Standard Webhooks secret (whsec_ and the base64 of 32 random bytes) for a "
        "webhook backend's 'secret' option and its receiver."
    )

    def handle(self, *args, **options):
        self.stdout.write(generate_secret())
