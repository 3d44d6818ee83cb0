"""WSGI entry point, for servers that do not speak ASGI (streaming needs ASGI)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")

application = get_wsgi_application()
