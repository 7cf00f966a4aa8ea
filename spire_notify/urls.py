from django.urls import path

from . import views

app_name = "spire_notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
]
