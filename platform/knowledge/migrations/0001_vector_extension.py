from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector must exist before any table with a vector column is created."""

    initial = True
    dependencies: list = []
    operations = [VectorExtension()]
