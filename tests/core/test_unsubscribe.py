"""One-click unsubscribe (RFC 8058): signed tokens, the headers, and the endpoint as a mail
provider and as a person reach it."""

import copy
import email.policy
import pickle
import time
import urllib.error
import urllib.request

import lxml.html
import pytest
from django.core import signing
from django.test import override_settings
from django.urls import include, path, reverse

from spire_notify.channels.email.headers import LegacyUnfoldedHeader, UnfoldedHeader, unsubscribe_headers
from spire_notify.exceptions import MandatoryNotificationType
from spire_notify.message import Recipient
from spire_notify.models import NotificationPreference
from spire_notify.preferences import get_preference, set_preference
from spire_notify.unsubscribe import footer_links, make_token, read_token, unsubscribe_url

NEW = "helpdesk.ticket.new"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}
urlpatterns = [path("elsewhere/notices/", include("spire_notify.urls"))]


def token_path(recipient, type_key=NEW, channel="email"):
    return reverse("spire_notify:unsubscribe", args=[make_token(recipient, type_key, channel)])


def tampered(token):
    payload, signature = token.rsplit(":", 1)
    return f"{payload}:{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"


# Tokens


def test_a_token_names_one_recipient_type_and_channel():
    wanted = read_token(make_token(Recipient(user_id=7, email="a@example.org"), NEW, "email"))
    assert (wanted.recipient, wanted.type_key, wanted.channel) == (("user", 7), NEW, "email")
    guest = read_token(make_token("Guest@Example.org", NEW, "email"))
    assert guest.recipient == ("email", "guest@example.org")


def test_the_same_recipient_type_and_channel_get_the_same_link_whenever_it_is_made(monkeypatch):
    # Tokens do not expire, so a timestamp in them would only make one email's two renderings differ.
    first = make_token(Recipient(user_id=7), NEW, "email")
    now = time.time()
    monkeypatch.setattr(signing.time, "time", lambda: now + 3600)
    assert make_token(Recipient(user_id=7), NEW, "email") == first


def test_a_tampered_or_foreign_token_is_refused():
    token = make_token(Recipient(user_id=7), NEW, "email")
    with pytest.raises(signing.BadSignature):
        read_token(tampered(token))
    # Another user's payload under this token's signature.
    other_payload = make_token(Recipient(user_id=8), NEW, "email").rsplit(":", 1)[0]
    with pytest.raises(signing.BadSignature):
        read_token(f"{other_payload}:{token.rsplit(':', 1)[1]}")
    # Signed by Django with another salt: not an unsubscribe token.
    with pytest.raises(signing.BadSignature):
        read_token(signing.dumps(["user", 7, NEW, "email"]))


def test_the_url_is_absolute_and_follows_where_the_project_mounts_the_urls():
    url = unsubscribe_url(Recipient(user_id=7), NEW, "email", domain="example.com")
    token = make_token(Recipient(user_id=7), NEW, "email")
    assert url == f"https://example.com/notifications/unsubscribe/{token}/"
    with override_settings(ROOT_URLCONF=__name__):
        assert unsubscribe_url(Recipient(user_id=7), NEW, "email", domain="d.test", protocol="http") == (
            f"http://d.test/elsewhere/notices/unsubscribe/{token}/"
        )


def test_the_list_unsubscribe_header_is_one_line_whatever_the_policy():
    header = UnfoldedHeader("List-Unsubscribe", "<https://example.com/" + "t" * 200 + "/>")
    for policy in (email.policy.SMTP, email.policy.default, email.policy.SMTPUTF8):
        one_line = f"List-Unsubscribe: {header}{policy.linesep}".encode()
        assert policy.fold_binary("List-Unsubscribe", header) == one_line
    # Django 5.2's legacy policy gets it as a Header (OneLineHeadersEmail puts it back so).
    legacy = email.policy.compat32.clone(linesep="\r\n")
    assert legacy.fold_binary("List-Unsubscribe", LegacyUnfoldedHeader(header)) == (
        f"List-Unsubscribe: {header}\r\n".encode()
    )
    assert copy.deepcopy(header) == header and copy.deepcopy(header).name == "List-Unsubscribe"
    assert pickle.loads(pickle.dumps(header)).fold(policy=email.policy.SMTP) == header.fold(
        policy=email.policy.SMTP
    )
    # What one line cannot carry is left to the policy's folding.
    for value in ("<https://bücher.example/>", "<https://example.com/" + "t" * 990 + ">", "<a>\r\nBcc: x"):
        assert type(UnfoldedHeader("List-Unsubscribe", value)) is str


def test_the_headers_of_an_email():
    recipient = Recipient(user_id=7, email="a@example.org")
    headers = unsubscribe_headers(recipient, NEW, "email", domain="example.com")
    assert headers == {
        "List-Unsubscribe": f"<{unsubscribe_url(recipient, NEW, 'email', domain='example.com')}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def test_no_unsubscribe_for_mandatory_or_unregistered_types(security_notice):
    recipient = Recipient(user_id=7, email="a@example.org")
    assert unsubscribe_headers(recipient, security_notice, "email", domain="example.com") == {}
    assert unsubscribe_headers(recipient, "made.up", "email", domain="example.com") == {}
    with pytest.raises(MandatoryNotificationType):
        unsubscribe_url(recipient, security_notice, "email", domain="example.com")
    assert footer_links(recipient, security_notice, "email", domain="example.com") == {
        "unsubscribe_url": "",
        "preferences_url": "https://example.com/notifications/preferences/",
    }


def test_footer_links_of_a_user_and_of_a_guest():
    user = Recipient(user_id=7, email="a@example.org")
    assert footer_links(user, NEW, "email", domain="example.com") == {
        "unsubscribe_url": unsubscribe_url(user, NEW, "email", domain="example.com"),
        "preferences_url": "https://example.com/notifications/preferences/",
    }
    guest = Recipient(user_id=None, email="g@example.org")
    assert footer_links(guest, NEW, "email", domain="example.com") == {
        "unsubscribe_url": unsubscribe_url("g@example.org", NEW, "email", domain="example.com"),
        "preferences_url": "",
    }


# The endpoint


@pytest.mark.django_db
def test_get_asks_for_confirmation_and_changes_nothing(client, requester):
    response = client.get(token_path(requester))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "no-referrer"
    page = lxml.html.fromstring(response.content)
    assert page.cssselect("h1")[0].text_content() == "Unsubscribe?"
    form = page.cssselect("main form")[0]
    assert form.get("method") == "post"
    assert [(field.get("name"), field.get("value")) for field in form.cssselect("input")] == [
        ("List-Unsubscribe", "One-Click")
    ]
    assert "New help desk ticket" in page.text_content()
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
def test_post_one_click_switches_exactly_that_preference_off(client, requester, developer):
    response = client.post(token_path(requester), ONE_CLICK)
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert get_preference(requester, NEW, "email") == "off"
    assert get_preference(requester, NEW, "app") == "immediate"
    assert get_preference(requester, "helpdesk.ticket.update", "email") == "immediate"
    assert get_preference(developer, NEW, "email") == "immediate"
    assert NotificationPreference.objects.count() == 1


@pytest.mark.django_db
def test_post_without_the_one_click_body_changes_nothing(client, requester):
    assert client.post(token_path(requester), {"List-Unsubscribe": "maybe"}).status_code == 400
    assert client.post(token_path(requester)).status_code == 400
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_or_tampered_token_gets_400_and_changes_nothing(client, requester, method):
    good = make_token(requester, NEW, "email")
    for token in [tampered(good), "not-a-token", signing.dumps(["user", requester.pk, NEW, "email"])]:
        response = getattr(client, method)(reverse("spire_notify:unsubscribe", args=[token]), ONE_CLICK)
        assert response.status_code == 400
        assert "This link is not valid" in response.content.decode()
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
def test_a_deleted_user_or_an_unregistered_type_gets_400(client, requester, make_user):
    gone = make_user("gone")
    gone_path = token_path(gone)
    gone.delete()
    assert client.post(gone_path, ONE_CLICK).status_code == 400
    assert client.post(token_path(requester, "made.up"), ONE_CLICK).status_code == 400
    assert client.post(token_path(requester, NEW, "sms"), ONE_CLICK).status_code == 400
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
@override_settings(
    NOTIFY_BACKENDS={
        "app": {"BACKEND": "spire_notify.channels.app.backend.AppBackend"},
        "email": {"BACKEND": "spire_notify.channels.email.backend.EmailBackend"},
        "chat": {"BACKEND": "spire_notify.backends.locmem.LocMemBackend"},
    }
)
def test_a_channel_the_type_is_not_sent_on_gets_400(client, requester):
    # A link of a channel the type was sent on once, before it left the type's channels.
    assert client.post(token_path(requester, NEW, "chat"), ONE_CLICK).status_code == 400
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
def test_a_mandatory_type_cannot_be_unsubscribed(client, requester, security_notice):
    response = client.get(token_path(requester, security_notice))
    assert response.status_code == 200
    assert "cannot be switched off" in response.content.decode()
    assert not lxml.html.fromstring(response.content).cssselect("main form")
    assert client.post(token_path(requester, security_notice), ONE_CLICK).status_code == 403
    assert not NotificationPreference.objects.exists()


@pytest.mark.django_db
def test_a_guest_unsubscribes_by_address(client):
    assert client.post(token_path("Guest@Example.org"), ONE_CLICK).status_code == 200
    assert get_preference("guest@example.org", NEW, "email") == "off"
    assert NotificationPreference.objects.get().user is None


@pytest.mark.django_db
def test_unsubscribing_twice_is_fine(client, requester):
    set_preference(requester, NEW, "email", "off")
    assert client.post(token_path(requester), ONE_CLICK).status_code == 200
    assert NotificationPreference.objects.get().mode == "off"


def post_as_mail_provider(url, body):
    """What Gmail or Yahoo do with List-Unsubscribe-Post: a bare POST, no cookies, no CSRF."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "mail-provider/1.0"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_mail_providers_one_click_post_over_http(live_server, make_user):
    user = make_user("reader")
    other = make_user("other")
    url = live_server.url + token_path(user)

    status, _ = post_as_mail_provider(
        live_server.url + token_path(user)[:-3] + "xx/", b"List-Unsubscribe=One-Click"
    )
    assert status == 400
    assert get_preference(user, NEW, "email") == "immediate"

    status, page = post_as_mail_provider(url, b"List-Unsubscribe=One-Click")
    assert status == 200
    assert "You are unsubscribed" in page
    assert get_preference(user, NEW, "email") == "off"
    assert get_preference(other, NEW, "email") == "immediate"


@pytest.mark.parametrize(
    "recipient", [Recipient(user_id=7, email="u@example.com"), Recipient(user_id=None, email="g@example.org")]
)
@pytest.mark.parametrize("type_key", [NEW, "unregistered.event"])
def test_email_links_answer_as_footer_links_and_unsubscribe_headers(recipient, type_key):
    from spire_notify.channels.email.headers import EmailLinks

    links = EmailLinks(type_key, "email", domain="example.com")
    footer = links.footer(recipient)
    assert footer == footer_links(recipient, type_key, "email", domain="example.com")
    assert links.headers(footer) == unsubscribe_headers(recipient, type_key, "email", domain="example.com")
