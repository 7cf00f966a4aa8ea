"""A project's URLconf that forgot the help desk (tests of spire_helpdesk.W002)."""

from django.urls import include, path

urlpatterns = [path("notifications/", include("spire_notify.urls"))]
