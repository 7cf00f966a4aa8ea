from django.urls import path

from . import views

app_name = "spire_helpdesk"

urlpatterns = [
    path("", views.ticket_list, name="ticket_list"),
    path("new/", views.ticket_create, name="ticket_create"),
    path("page/<int:pk>/detail/", views.ticket_detail, name="ticket_detail"),
    path("page/<int:pk>/status/", views.ticket_change_status, name="ticket_change_status"),
    path("page/<int:pk>/comments/", views.ticket_add_comment, name="ticket_add_comment"),
]
