from django.urls import path

from spire_notify.channels.email import previews

urlpatterns = [
    path("email-previews/", previews.preview_list, name="email_previews"),
    path("email-previews/<str:engine>/<path:template_name>", previews.preview_detail, name="email_preview"),
]
