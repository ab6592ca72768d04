# Heartbeat moved here from the project package (controlpanel).
# State only: the table was renamed by controlpanel.0002's move-out migration and keeps every row.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

FROM_APP = "controlpanel"
TO_APP = "health"
MODELS = ['heartbeat']


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
        ('controlpanel', '0002_move_heartbeat_to_health'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Heartbeat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=64, unique=True)),
                        ('last_seen', models.DateTimeField()),
                    ],
                ),
            ],
        ),
        migrations.RunPython(move_content_types, restore_content_types),
    ]
