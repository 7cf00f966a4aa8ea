"""The demo's ASGI application, served by uvicorn: the live inbox's event streams need ASGI.
Static files are served as runserver would serve them."""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")

application = ASGIStaticFilesHandler(get_asgi_application())
