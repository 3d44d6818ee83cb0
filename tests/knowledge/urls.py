"""The project's URLs with the knowledge pages, whether or not the project includes them yet."""

from django.urls import include, path

from switchboard.urls import handler404, handler500  # noqa: F401
from switchboard.urls import urlpatterns as project_urlpatterns

urlpatterns = list(project_urlpatterns)
if not any(getattr(pattern, "namespace", None) == "knowledge" for pattern in urlpatterns):
    urlpatterns.append(path("", include("knowledge.urls")))
