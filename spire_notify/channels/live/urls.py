from django.urls import path

from spire_notify.channels.live import events

urlpatterns = [path("live/", events.events, name="live_events")]
