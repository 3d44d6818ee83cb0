"""The project's URLs plus the action pages (for the page tests, whether or not the project includes them)."""

from django.urls import include, path

from switchboard import urls as project

handler404 = project.handler404
handler500 = project.handler500

urlpatterns = list(project.urlpatterns)
if not any(getattr(pattern, "namespace", None) == "actions" for pattern in urlpatterns):
    urlpatterns.append(path("", include("actions.urls")))
