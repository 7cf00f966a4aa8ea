"""Skip markers for what a supported Django version does differently, each with its reason.

The suite runs on Django 5.2, 6.0 and 6.1 (`make test`, `make test-django-versions`); a test
that pins behaviour one of them does not have says so with one of these.
"""

import django
import pytest
from django.conf import settings

from spire_notify.compat import FLATTENED_SMTP

# Django 5.2 caps one SQLite statement at 999 parameters (6.0 asks SQLite, 32766 by default):
# its bulk inserts split into a statement per 999 parameters, so query counts grow there.
sqlite_999_parameters = pytest.mark.skipif(
    django.VERSION < (6, 0) and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
    reason="Django 5.2 splits SQLite inserts into statements of 999 parameters",
)

# Django 6.0 rebuilt email on the modern email API, which the flattened SMTP path reuses.
flattened_smtp = pytest.mark.skipif(
    not FLATTENED_SMTP, reason="the flattened SMTP path needs Django 6.0's email API"
)

# Django 5.2's SMTP mailer encodes a non-ASCII local part (RFC 2047) instead of refusing it.
refuses_non_ascii_local_part = pytest.mark.skipif(
    django.VERSION < (6, 0), reason="Django 5.2 sends a non-ASCII local part encoded, and the server takes it"
)

# Django 5.2's legacy MIME classes fold and encode headers their own way.
modern_mime = pytest.mark.skipif(
    django.VERSION < (6, 0), reason="Django 5.2 builds MIME with its legacy classes"
)
