from django.urls import path

from spire_notify.channels.webpush import views

urlpatterns = [
    path("push/subscription/", views.push_subscription, name="push_subscription"),
    path("push/unsubscribe/", views.push_unsubscribe, name="push_unsubscribe"),
]
