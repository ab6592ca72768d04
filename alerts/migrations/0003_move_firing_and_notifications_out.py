# The Alertmanager loop's alerts and the notification channels left this app for their own
# (firing, notifications). The tables are renamed, never dropped: every row stays. The new
# apps' 0001 migrations take the models over in Django's state.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('alerts', '0002_tuning_firing_notifications'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable('notification', 'notifications_notification'),
                migrations.AlterModelTable('notificationchannel', 'notifications_notificationchannel'),
                migrations.AlterModelTable('firingalert', 'firing_firingalert'),
            ],
            state_operations=[
                migrations.DeleteModel('notification'),
                migrations.DeleteModel('notificationchannel'),
                migrations.DeleteModel('firingalert'),
            ],
        ),
    ]
