from django.urls import path

from switchboard.views import dashboard

app_name = "providers"

urlpatterns = [path("providers/", dashboard, name="provider_list")]
