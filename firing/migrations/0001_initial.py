# FiringAlert moved here from alerts (the Alertmanager loop is its own app).
# State only: the table was renamed by alerts.0003's move-out migration and keeps every row.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

FROM_APP = "alerts"
TO_APP = "firing"
MODELS = ['firingalert']


def move_content_types(apps, schema_editor):
    """Keep permissions, admin history and group grants attached to the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        # A content type the new app already has (made by a migrate that ran before this
        # one) is left alone: the old one keeps its grants rather than collide with it.
        if not ContentType.objects.filter(app_label=TO_APP, model=model).exists():
            ContentType.objects.filter(app_label=FROM_APP, model=model).update(app_label=TO_APP)


def restore_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=FROM_APP, model=model).exists():
            ContentType.objects.filter(app_label=TO_APP, model=model).update(app_label=FROM_APP)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('alerts', '0003_move_firing_and_notifications_out'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='FiringAlert',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('fingerprint', models.CharField(max_length=64)),
                        ('starts_at', models.DateTimeField()),
                        ('ends_at', models.DateTimeField(blank=True, null=True)),
                        ('status', models.CharField(choices=[('firing', 'Firing'), ('resolved', 'Resolved')], max_length=10)),
                        ('alertname', models.CharField(db_index=True, max_length=200)),
                        ('severity', models.CharField(blank=True, max_length=20)),
                        ('labels', models.JSONField(default=dict)),
                        ('annotations', models.JSONField(default=dict)),
                        ('generator_url', models.URLField(blank=True, max_length=1000)),
                        ('receiver', models.CharField(blank=True, max_length=200)),
                        ('first_received_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_received_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('deliveries', models.PositiveIntegerField(default=1)),
                        ('acknowledged_at', models.DateTimeField(blank=True, null=True)),
                        ('ack_comment', models.TextField(blank=True)),
                        ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-starts_at'],
                        'constraints': [models.UniqueConstraint(fields=('fingerprint', 'starts_at'), name='firing_alert_once_per_start')],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
