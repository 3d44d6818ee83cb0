from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from switchboard import health, views

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("network.api_urls")),
    path("", include("providers.api_urls")),
    path("", include("knowledge.api_urls")),
    path("", include("actions.api_urls")),
    path("", include("bots.api_urls")),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the header's language menu
    # Browsers ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("healthz/live", health.liveness, name="healthz_live"),
    path("api/v1/", include(api_v1)),
    path("v1/", include("bots.openai_urls")),
    path("", include("bots.widget.page_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), name="api_docs"),
    path("", include("accounts.urls")),
    path("", include("network.urls")),
    path("", include("providers.urls")),
    path("", include("bots.urls")),
    path("", include("actions.urls")),
    path("", include("knowledge.urls")),
]

handler404 = "switchboard.api.errors.handler404"
handler500 = "switchboard.api.errors.handler500"
