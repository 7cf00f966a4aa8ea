from django.urls import path

from spire_notify import channel_views, live, preference_views, previews, views

app_name = "spire_notify"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("unread-count/", views.unread_count_json, name="unread_count"),
    path("read-all/", views.mark_all_read, name="mark_all_read"),
    path("<int:pk>/open/", views.open_notification, name="open"),
    path("<int:pk>/read/", views.mark_read, name="mark_read"),
    path("preferences/", preference_views.preferences_page, name="preferences"),
    path("unsubscribe/<str:token>/", preference_views.unsubscribe, name="unsubscribe"),
    path("live/", live.events, name="live_events"),
    path("channels/", channel_views.channels, name="channels"),
    path(
        "channels/apprise/<int:pk>/delete/",
        channel_views.delete_apprise_address,
        name="delete_apprise_address",
    ),
    path("push/subscription/", channel_views.push_subscription, name="push_subscription"),
    path("push/unsubscribe/", channel_views.push_unsubscribe, name="push_unsubscribe"),
    path("email-previews/", previews.preview_list, name="email_previews"),
    path(
        "email-previews/<str:engine>/<path:template_name>",
        previews.preview_detail,
        name="email_preview",
    ),
]
