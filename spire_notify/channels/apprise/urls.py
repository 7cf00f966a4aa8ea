from django.urls import path

from spire_notify.channels.apprise import views

urlpatterns = [
    path("channels/apprise/<int:pk>/delete/", views.delete_apprise_address, name="delete_apprise_address"),
]
