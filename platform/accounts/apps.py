from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and workspaces"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401 - registers the OpenAPI auth extension
        from accounts.models import ApiKey
        from switchboard import onboarding

        onboarding.register("api_key", lambda ws: ApiKey.objects.filter(workspace_id=ws).exists())
