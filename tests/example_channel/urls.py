from django.urls import path

from tests.example_channel import views

urlpatterns = [path("sms/", views.phone_number, name="sms_phone_number")]
