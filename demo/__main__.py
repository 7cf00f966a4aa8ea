"""Run the demo help desk: ``python -m demo [--port 8000]``.

Migrates a SQLite database under ./demo-data, seeds three users, then runs side by side: the
web server (uvicorn: ASGI, for the live inbox), django-tasks-db's worker (which delivers
notifications), and an SMTP catcher whose messages are shown at /demo/mailbox/. Ctrl-C stops all three.
"""

import argparse
import os
import signal
import subprocess
import sys

SETTINGS = "demo.settings"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)

    import django
    from django.conf import settings
    from django.core.management import call_command

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    django.setup()
    call_command("migrate", verbosity=0)
    from demo.seed import point_site_at, seed_users

    users = seed_users()
    point_site_at(args.port)

    from demo.mailbox import start_catcher

    catcher = start_catcher(settings.MAILBOX_DIR, settings.SMTP_PORT)
    manage = [sys.executable, "-m", "django"]
    worker = subprocess.Popen([*manage, "db_worker", "--no-reload", "--interval", "0.5"])
    # uvicorn rather than runserver: the live inbox holds an event stream open per page.
    uvicorn = [sys.executable, "-m", "uvicorn", "demo.asgi:application", "--host", "127.0.0.1"]
    server = subprocess.Popen([*uvicorn, "--port", str(args.port)])
    print_welcome(args.port, users)
    # A plain `kill` stops the demo as cleanly as Ctrl-C, children included.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            process.wait(timeout=15)
        catcher.stop()


def print_welcome(port, users):
    site = f"http://127.0.0.1:{port}"
    lines = [
        "",
        f"spire-notify demo help desk: {site}/",
        "Log in as (username / password):",
        *(f"  {username:<10} / {password:<10} {role}" for username, password, role in users),
        f"Create a ticket: {site}/help_desk/ (or the admin: {site}/admin/spire_helpdesk/helpdeskticket/add/)",
        f"In-app inbox:    {site}/notifications/",
        f"Caught email:    {site}/demo/mailbox/",
        "Ctrl-C stops the server, the worker and the SMTP catcher.",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
