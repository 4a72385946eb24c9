from django.db import migrations

# Why 16 MB instead of GIN's default 4 MB: see workorders/search_index.py. The worker
# merges the pending lists every couple of seconds, so they stay far below this; the
# limit only has to be out of reach of the intakes between two merges (at 550 intakes/s
# of real appeal texts, 2 s fill the content index's list with about 6 MB).
LIMIT_KB = 16 * 1024
TRIGRAM_INDEXES = ("wo_number_trgm", "wo_title_trgm", "wo_content_trgm")


def raise_limit(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} SET (gin_pending_list_limit = {LIMIT_KB})")


def reset_limit(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"ALTER INDEX IF EXISTS {name} RESET (gin_pending_list_limit)")


class Migration(migrations.Migration):

    dependencies = [
        ("workorders", "0006_fewer_indexes"),
    ]

    operations = [
        migrations.RunPython(raise_limit, reset_limit),
    ]
