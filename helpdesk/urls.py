from django.urls import path

from . import views

app_name = "helpdesk"

urlpatterns = [
    path("page/<int:pk>/detail/", views.ticket_detail, name="ticket_detail"),
]
