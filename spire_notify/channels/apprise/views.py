"""The Apprise channel's pages: a user's own Apprise URLs, a section of the channels page
("Chat and browser alerts", ``spire_notify.channels.apprise.pages``) that adds and lists them,
and the endpoint that removes one.

A URL is a secret of the user: only ever shown masked, changed by POST only. It is also the
user's input to a server that will send requests to it: it must be of a service users may add,
may not set the request's method or headers, and may lead to public addresses only
(``spire_notify.destinations``). A user keeps a bounded number of them.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from spire_notify import conf
from spire_notify.channels.apprise.backend import AppriseBackend, user_url_refusal, validate_apprise_url
from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.handler import notify_backends
from spire_notify.views import deny_framing


def per_user_apprise_enabled():
    return any(not backend.bulk for backend in notify_backends.of_class(AppriseBackend))


class AppriseAddressForm(forms.Form):
    url = forms.CharField(
        label="Apprise URL",
        max_length=2000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="For example ntfy://ntfy.sh/your-secret-topic or discord://webhook_id/webhook_token.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_url(self):
        most = conf.get("NOTIFY_MAX_APPRISE_ADDRESSES")
        if AppriseAddress.objects.filter(user=self.user).count() >= most:
            raise ValidationError(f"You have {most} chat addresses, the most you may keep; remove one first.")
        url = self.cleaned_data["url"].strip()
        if not validate_apprise_url(url):
            raise ValidationError("Apprise does not recognise this URL; check its scheme and form.")
        refusal = user_url_refusal(url)
        if refusal:
            raise ValidationError(f"This address cannot be added: {refusal}.")
        return url


def add_address(request):
    """A POST of the channels page's form: a redirect back there once the address is kept, or
    the bound form with its errors."""
    form = AppriseAddressForm(request.POST, user=request.user)
    if not (per_user_apprise_enabled() and form.is_valid()):
        return form
    AppriseAddress.objects.create(user=request.user, url=form.cleaned_data["url"])
    messages.success(request, "Chat address added.")
    return HttpResponseRedirect(reverse("spire_notify:channels"))


@deny_framing
@login_required
@require_POST
def delete_apprise_address(request, pk):
    # Only the user's own; removing one already gone (a second click) is no error.
    if AppriseAddress.objects.filter(pk=pk, user=request.user).delete()[0]:
        messages.success(request, "Chat address removed.")
    return HttpResponseRedirect(reverse("spire_notify:channels"))
