from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from spire_notify.views import deny_framing
from tests.example_channel.models import PhoneNumber


class PhoneNumberForm(forms.ModelForm):
    class Meta:
        model = PhoneNumber
        fields = ["number"]


@deny_framing
@login_required
def phone_number(request):
    """The signed-in user's number: shown, and changed by POST."""
    current = PhoneNumber.objects.filter(user=request.user).first()
    form = PhoneNumberForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        form.instance.user = request.user
        form.save()
        messages.success(request, "Phone number saved.")
        return redirect("spire_notify:sms_phone_number")
    return render(request, "example_channel/phone_number.html", {"form": form})
