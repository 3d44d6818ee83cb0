from django.db import migrations, models


class Migration(migrations.Migration):
    """Keep chunk vectors (and typical chunks whole) inside the table row; index hidden documents.

    pgvector's types default to out-of-line (TOAST) storage, and a chunk row (text, tsvector and
    1.5 KB of vector) is over PostgreSQL's default 2 KB threshold, so every distance computed
    from the table fetched the vector from the TOAST table (4-5x slower exact search) and every
    text match its tsvector. MAIN keeps the vector in the row; a 4 KB target keeps typical chunks
    whole, and only long chunks move their text out. Rows written before this keep their layout
    until rewritten (re-index, or VACUUM FULL knowledge_chunk).
    """

    dependencies = [("knowledge", "0003_search_indexes")]

    operations = [
        migrations.RunSQL("ALTER TABLE knowledge_chunk ALTER COLUMN embedding SET STORAGE MAIN",
                          "ALTER TABLE knowledge_chunk ALTER COLUMN embedding SET STORAGE EXTERNAL"),
        migrations.RunSQL("ALTER TABLE knowledge_chunk SET (toast_tuple_target = 4080)",
                          "ALTER TABLE knowledge_chunk RESET (toast_tuple_target)"),
        migrations.AddIndex(model_name="document", index=models.Index(
            fields=["workspace"], condition=models.Q(enabled=False), name="knowledge_doc_disabled")),
        migrations.AddIndex(model_name="document", index=models.Index(
            fields=["workspace"], condition=models.Q(pending_generation__isnull=False), name="knowledge_doc_pending")),
    ]
