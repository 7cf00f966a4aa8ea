"""The Apprise channel's section of the channels page: the user's chat addresses and the form
that adds one (posted to the channels page, as a field ``url``)."""

from spire_notify.channel_apps import ChannelPages
from spire_notify.channels.apprise.models import AppriseAddress
from spire_notify.channels.apprise.views import AppriseAddressForm, add_address, per_user_apprise_enabled


class ApprisePages(ChannelPages):
    settings_template = "spire_notify/apprise_section.html"

    def offers_settings(self, request):
        # Team URLs only (bulk backends): the user has nothing to add.
        return per_user_apprise_enabled()

    def settings_context(self, request, form=None):
        return {
            "apprise_addresses": AppriseAddress.objects.filter(user=request.user),
            "apprise_form": form or AppriseAddressForm(user=request.user),
        }

    def settings_post(self, request):
        if "url" not in request.POST:
            return None
        answer = add_address(request)
        if isinstance(answer, AppriseAddressForm):
            return self.settings_context(request, answer)
        return answer
