from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .models import Notification


@login_required
def inbox(request):
    notifications = Notification.objects.for_user(request.user).in_inbox().select_related("app")[:50]
    return render(request, "spire_notify/inbox.html", {"notifications": notifications})
