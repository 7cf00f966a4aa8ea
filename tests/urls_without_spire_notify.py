"""A URLconf that leaves spire_notify.urls out (the spire_notify.W020 check)."""

from django.urls import include, path

urlpatterns = [path("help_desk/", include("spire_notify.helpdesk.urls"))]
