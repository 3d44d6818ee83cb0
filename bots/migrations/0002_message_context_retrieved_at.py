from django.db import migrations, models


def context_from_trace(apps, schema_editor):
    """Messages from before these fields kept their retrieval only in the trace."""
    Message = apps.get_model("bots", "Message")
    for message in Message.objects.filter(trace__contains=[{"type": "retrieval"}]).iterator(chunk_size=500):
        step = next(s for s in message.trace if isinstance(s, dict) and s.get("type") == "retrieval")
        message.context = [{"label": hit.get("document_name", "document"), "text": hit.get("text", ""),
                            "page": hit.get("page")} for hit in step.get("hits", [])]
        message.retrieved_at = message.created_at
        message.save(update_fields=["context", "retrieved_at"])


class Migration(migrations.Migration):
    dependencies = [("bots", "0001_initial")]

    operations = [
        migrations.AddField(model_name="message", name="context", field=models.JSONField(blank=True, default=list)),
        migrations.AddField(model_name="message", name="retrieved_at",
                            field=models.DateTimeField(blank=True, null=True)),
        migrations.RunPython(context_from_trace, migrations.RunPython.noop, elidable=True),
    ]
