"""Every page the package serves refuses to be framed, whatever the project's middleware."""

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import URLPattern, reverse

from spire_notify import urls as notify_urls
from spire_notify.channels.app.models import AppNotification
from spire_notify.helpdesk import urls as helpdesk_urls
from spire_notify.models import Notification
from spire_notify.views import deny_framing

pytestmark = pytest.mark.django_db

WITHOUT_FRAMING_MIDDLEWARE = [
    name for name in settings.MIDDLEWARE if name != "django.middleware.clickjacking.XFrameOptionsMiddleware"
]


def patterns(urlconf):
    return [
        (f"{urlconf.app_name}:{pattern.name}", pattern)
        for pattern in urlconf.urlpatterns
        if isinstance(pattern, URLPattern)
    ]


ALL_PATTERNS = patterns(notify_urls) + patterns(helpdesk_urls)


@pytest.fixture
def objects(create_ticket, developer):
    notification = Notification.objects.create(
        user=developer, channel="app", status="sent", title="t", body="b", url="/", payload={}
    )
    AppNotification.objects.create(notification=notification)
    from spire_notify.unsubscribe import make_token

    return {
        "spire_notify": {
            "pk": notification.pk,
            "token": make_token(developer, "helpdesk.ticket.new", "email"),
        },
        "spire_helpdesk": {"pk": create_ticket().pk},
        "any": {"engine": "django", "template_name": "helpdesk/email/ticket_new.html"},
    }


def url_of(name, pattern, objects):
    namespace = name.split(":")[0]
    known = objects[namespace] | objects["any"]
    missing = set(pattern.pattern.converters) - set(known)
    assert not missing, f"{name}: give test_framing a value for {sorted(missing)}"
    return reverse(name, kwargs={key: known[key] for key in pattern.pattern.converters})


@override_settings(MIDDLEWARE=WITHOUT_FRAMING_MIDDLEWARE)
@pytest.mark.parametrize(("name", "pattern"), ALL_PATTERNS, ids=[name for name, _ in ALL_PATTERNS])
@pytest.mark.parametrize("who", ["anonymous", "staff developer"])
def test_every_url_answers_with_deny(client, developer, objects, name, pattern, who):
    if who != "anonymous":
        developer.is_staff = True
        developer.save()
        client.force_login(developer)
    url = url_of(name, pattern, objects)

    response = client.get(url)
    if response.status_code == 405:
        response = client.post(url)

    assert response.status_code in {200, 302, 400}, (url, response.status_code)
    assert response["X-Frame-Options"] == "DENY", url


def test_the_middleware_is_not_what_sends_it():
    assert "django.middleware.clickjacking.XFrameOptionsMiddleware" not in WITHOUT_FRAMING_MIDDLEWARE


class TestDenyFraming:
    def test_sets_deny_on_a_view_of_another_app(self):
        view = deny_framing(lambda request: HttpResponse("page"))
        assert view(RequestFactory().get("/"))["X-Frame-Options"] == "DENY"

    def test_keeps_what_the_view_chose(self):
        def view(request):
            response = HttpResponse("embeddable")
            response["X-Frame-Options"] = "SAMEORIGIN"
            return response

        assert deny_framing(view)(RequestFactory().get("/"))["X-Frame-Options"] == "SAMEORIGIN"

    def test_keeps_the_views_name(self):
        def inbox(request):
            return HttpResponse()

        assert deny_framing(inbox).__name__ == "inbox"
