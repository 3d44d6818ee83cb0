from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Model providers"

    def ready(self) -> None:
        from providers.models import ModelKind, ProviderModel
        from switchboard import onboarding

        onboarding.register(
            "model", lambda ws: ProviderModel.objects.filter(workspace_id=ws, kind=ModelKind.CHAT).exists()
        )
