"""The Apprise channel's pages: a user's own Apprise URLs, and the "Chat and browser alerts"
page that lists them beside this browser's push status.

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
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from spire_notify import conf
from spire_notify.channels.apprise.backend import AppriseBackend, user_url_refusal, validate_apprise_url
from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.channels.webpush.models import PushSubscription
from spire_notify.channels.webpush.views import push_backend, push_button_context
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


def channels_context(request, apprise_form=None):
    """What ``spire_notify/channels_section.html`` shows; a preferences page that embeds the
    section adds this to its own context."""
    push = push_backend()
    return {
        "apprise_enabled": per_user_apprise_enabled(),
        "apprise_addresses": AppriseAddress.objects.filter(user=request.user),
        "apprise_form": apprise_form or AppriseAddressForm(user=request.user),
        "push_enabled": push is not None,
        "push_browsers": PushSubscription.objects.filter(user=request.user).count() if push else 0,
        **push_button_context(push),
    }


@deny_framing
@login_required
def channels(request):
    """The user's chat URLs (add, remove) and browser push status."""
    form = None
    if request.method == "POST":
        form = AppriseAddressForm(request.POST, user=request.user)
        if per_user_apprise_enabled() and form.is_valid():
            AppriseAddress.objects.create(user=request.user, url=form.cleaned_data["url"])
            messages.success(request, "Chat address added.")
            return HttpResponseRedirect(reverse("spire_notify:channels"))
    return render(request, "spire_notify/channels.html", channels_context(request, form))


@deny_framing
@login_required
@require_POST
def delete_apprise_address(request, pk):
    # Only the user's own; removing one already gone (a second click) is no error.
    if AppriseAddress.objects.filter(pk=pk, user=request.user).delete()[0]:
        messages.success(request, "Chat address removed.")
    return HttpResponseRedirect(reverse("spire_notify:channels"))
