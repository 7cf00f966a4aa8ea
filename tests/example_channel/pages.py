from django.urls import reverse

from spire_notify.channel_apps import ChannelPages
from tests.example_channel.models import PhoneNumber


class SmsPages(ChannelPages):
    settings_template = "example_channel/section.html"

    def offers_settings(self, request):
        return True

    def settings_context(self, request):
        number = PhoneNumber.objects.filter(user=request.user).values_list("number", flat=True).first()
        return {"number": number, "page_url": reverse("spire_notify:sms_phone_number")}
