"""``spire_notify.urls``: the preferences, channels and unsubscribe pages, and the pages of every
installed channel app (its ``ChannelConfig.urls``), all named ``spire_notify:<name>``."""

from django.urls import include, path

from spire_notify import views
from spire_notify.channel_apps import installed_channels

app_name = "spire_notify"

urlpatterns = [
    path("preferences/", views.preferences_page, name="preferences"),
    path("channels/", views.channels, name="channels"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    *(path("", include(channel.urls)) for channel in installed_channels() if channel.urls),
]
