from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("help_desk/", include("helpdesk.urls")),
    path("notifications/", include("spire_notify.urls")),
]
