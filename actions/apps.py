from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"
    verbose_name = "Actions (OpenAPI tools)"

    def ready(self) -> None:
        from actions.models import Action
        from switchboard import onboarding

        onboarding.register("actions", lambda ws: Action.objects.filter(workspace_id=ws).exists())
