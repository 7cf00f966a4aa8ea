from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("", RedirectView.as_view(url="/notifications/")),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="helpdesk/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("admin/", admin.site.urls),
    path("help_desk/", include("spire_notify.helpdesk.urls")),
    path("notifications/", include("spire_notify.urls")),
    path("demo/mailbox/", views.mailbox, name="demo_mailbox"),
    path("demo/mailbox/<str:name>/", views.mailbox_message, name="demo_mailbox_message"),
]
