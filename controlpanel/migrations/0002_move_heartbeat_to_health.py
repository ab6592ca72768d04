# The heartbeat left the project package for the health app; the table is renamed, never
# dropped. health's 0001 migration takes the model over in Django's state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('controlpanel', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.AlterModelTable('heartbeat', 'health_heartbeat')],
            state_operations=[migrations.DeleteModel('heartbeat')],
        ),
    ]
