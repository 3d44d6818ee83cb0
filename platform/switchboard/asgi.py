"""ASGI entry point: `uvicorn switchboard.asgi:application`."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
os.environ.setdefault("SWITCHBOARD_PROCESS_ROLE", "web")

application = get_asgi_application()
