"""The test project's URLs, plus sign-in and sign-out pages for the browser tests."""

from django.contrib.auth import views as auth_views
from django.urls import path

from tests.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(template_name="helpdesk/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    *project_urlpatterns,
]
