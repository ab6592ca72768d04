"""Each check's bucket (a hash of its signature), so that a shard of the evaluation cycle reads
only its own checks. Existing checks get theirs here; new ones get it when they are created."""

import zlib

from django.db import migrations, models

BUCKETS = 1024  # alerts.models.BUCKETS, frozen here as a migration must be


def fill_buckets(apps, schema_editor):
    Check = apps.get_model("alerts", "Check")
    checks = list(Check.objects.only("pk", "signature"))
    for check in checks:
        check.bucket = zlib.crc32(check.signature.encode()) % BUCKETS
    Check.objects.bulk_update(checks, ["bucket"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0003_move_firing_and_notifications_out")]

    operations = [
        migrations.AddField(
            model_name="check",
            name="bucket",
            field=models.PositiveSmallIntegerField(db_index=True, default=0),
        ),
        migrations.RunPython(fill_buckets, migrations.RunPython.noop),
    ]
