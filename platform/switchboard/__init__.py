"""The Django project: settings, URLs, ASGI/WSGI entry points and the Celery app."""

from switchboard.celery_app import app

__all__ = ("app",)
