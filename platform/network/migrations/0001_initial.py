import django.db.models.deletion
import django.utils.timezone
import switchboard.ids
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """The allowlist table. Existing entries are moved here from the actions app by its migration
    0002, which depends on this one (the actions app sits above this one, never the reverse)."""

    initial = True

    dependencies = [
        ('accounts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='AllowlistEntry',
            fields=[
                ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('id', models.CharField(default=switchboard.ids.PrefixedId('egr'), editable=False, max_length=40, primary_key=True, serialize=False)),
                ('value', models.CharField(max_length=300)),
                ('note', models.CharField(blank=True, max_length=300)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('workspace', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.workspace')),
            ],
            options={
                'ordering': ['value'],
                'constraints': [models.UniqueConstraint(fields=('workspace', 'value'), name='network_allowlist_unique')],
            },
        ),
    ]
