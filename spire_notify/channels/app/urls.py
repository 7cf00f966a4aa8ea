from django.urls import path

from spire_notify.channels.app import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("unread-count/", views.unread_count_json, name="unread_count"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("<int:pk>/open/", views.open_notification, name="open"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
]
