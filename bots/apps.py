from django.apps import AppConfig


class BotsConfig(AppConfig):
    name = "bots"
    verbose_name = "Bots and conversations"

    def ready(self) -> None:
        from bots.models import Bot, BotWidget
        from switchboard import onboarding

        onboarding.register(
            "bot", lambda ws: Bot.objects.filter(workspace_id=ws, published_version__isnull=False).exists()
        )
        onboarding.register(
            "widget", lambda ws: BotWidget.objects.filter(workspace_id=ws).exclude(allowed_origins=[]).exists()
        )
