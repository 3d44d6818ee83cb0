from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = "Knowledge bases"

    def ready(self) -> None:
        from knowledge.models import Document
        from switchboard import onboarding

        onboarding.register("knowledge", lambda ws: Document.objects.filter(workspace_id=ws, status="ready").exists())
