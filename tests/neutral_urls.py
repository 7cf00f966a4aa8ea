"""The URLconf of a project without the help desk: the sign-in page is spire-notify's own."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path(
        "accounts/login/", auth_views.LoginView.as_view(template_name="spire_notify/login.html"), name="login"
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("notifications/", include("spire_notify.urls")),
]
