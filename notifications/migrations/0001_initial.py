# NotificationChannel and Notification moved here from alerts (delivery serves every app).
# State only: the table was renamed by alerts.0003's move-out migration and keeps every row.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

FROM_APP = "alerts"
TO_APP = "notifications"
MODELS = ['notificationchannel', 'notification']


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
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='NotificationChannel',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True)),
                        ('kind', models.CharField(choices=[('email', 'Email'), ('slack', 'Slack-compatible incoming webhook')], max_length=10)),
                        ('target', models.TextField(help_text='Email: addresses separated by commas. Slack: the incoming-webhook URL.')),
                        ('categories', models.JSONField(blank=True, default=list, help_text='Metric categories routed here; empty for all.')),
                        ('min_severity', models.CharField(choices=[('warning', 'Warning'), ('critical', 'Critical')], default='warning', max_length=10)),
                        ('is_enabled', models.BooleanField(default=True)),
                    ],
                    options={
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('subject', models.CharField(max_length=300)),
                        ('body', models.TextField()),
                        ('sent_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('is_delivered', models.BooleanField(default=False)),
                        ('error', models.TextField(blank=True)),
                        ('state_change', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='alerts.statechange')),
                        ('channel', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='notifications.notificationchannel')),
                    ],
                    options={
                        'ordering': ['-sent_at'],
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
