"""The project's URLs with the knowledge pages, whether or not the project includes them yet."""

from django.urls import include, path

from switchboard.urls import handler404, handler500, urlpatterns as project_urlpatterns  # noqa: F401

urlpatterns = list(project_urlpatterns)
if not any(getattr(pattern, "namespace", None) == "knowledge" for pattern in urlpatterns):
    urlpatterns.append(path("", include("knowledge.urls")))
