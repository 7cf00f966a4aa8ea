from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(url="/notifications/")),
    path("admin/", admin.site.urls),
    path("help_desk/", include("helpdesk.urls")),
    path("notifications/", include("spire_notify.urls")),
    path("demo/mailbox/", views.mailbox, name="demo_mailbox"),
    path("demo/mailbox/<str:name>/", views.mailbox_message, name="demo_mailbox_message"),
]
