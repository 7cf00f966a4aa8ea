"""django-notifications-hq's side of P2, run in its own virtualenv (Django 5.0).

notifications-hq 1.8.3 does not load on Django >= 5.1, so this script is run by
``bench.peers`` with that virtualenv's Python; it imports nothing from this project. It
answers one JSON line per command read from stdin:

- ``setup <recipients>``: create the database, the actor and the recipients;
- ``run autocommit`` / ``run atomic``: time one ``notify.send(recipient=<queryset>)``;
- ``quit``.
"""

import json
import os
import sys
import time

import django
from django.conf import settings


def configure(engine, name):
    if engine == "postgres":
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "PORT": 5432,
            "USER": os.environ.get("PGUSER", "postgres"),
            "NAME": "postgres",
            "TEST": {"NAME": name},
        }
    else:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": name, "TEST": {"NAME": name}}
    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="bench-only",
        DATABASES={"default": database},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "notifications",
        ],
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    django.setup()


class HqSide:
    def __init__(self):
        from django.db import connection

        connection.creation.create_test_db(verbosity=0, autoclobber=True)

    def setup(self, recipients):
        from django.contrib.auth.models import User

        self.actor = User.objects.create(username="actor")
        User.objects.bulk_create(
            User(username=f"hq-{index}", email=f"hq-{index}@example.com") for index in range(recipients)
        )
        return {"recipients": recipients}

    def run(self, mode):
        from django.contrib.auth.models import User
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext
        from notifications.models import Notification
        from notifications.signals import notify

        recipients = User.objects.filter(username__startswith="hq-")
        # The query log keeps 9,000 entries; a full log would make every count zero.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            if mode == "atomic":
                with transaction.atomic():
                    notify.send(self.actor, recipient=recipients, verb="created", description="ticket")
            else:
                notify.send(self.actor, recipient=recipients, verb="created", description="ticket")
            elapsed = time.perf_counter() - start
        created = Notification.objects.count()
        Notification.objects.all().delete()
        return {"seconds": elapsed, "queries": len(queries), "rows": created}


def main():
    engine, name = sys.argv[1], sys.argv[2]
    configure(engine, name)
    side = HqSide()
    print(json.dumps({"ready": django.get_version()}), flush=True)
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "setup":
            reply = side.setup(int(argument))
        elif command == "run":
            reply = side.run(argument)
        else:
            break
        print(json.dumps(reply), flush=True)
    from django.db import connection

    connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
