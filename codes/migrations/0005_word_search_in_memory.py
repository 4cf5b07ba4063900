# The word search moved into memory (codes.word_index): drop what migration 0004 built for it in
# the database (PostgreSQL's GIN indexes, SQLite's FTS5 table and its triggers). They were
# maintained row by row on every import (seven of the twelve seconds of a PostgreSQL import).
# The pg_trgm extension stays: dropping an extension may break someone else's use of it.
# Backwards, 0004's structures are built again.

import importlib

from django.db import migrations

word_search = importlib.import_module("codes.migrations.0004_code_word_search")


def drop_search_structures(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in (word_search.WORDS_INDEX, word_search.TITLE_TRIGRAM_INDEX):
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    elif schema_editor.connection.vendor == "sqlite":
        for statement in word_search.SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ("codes", "0004_code_word_search"),
    ]

    operations = [
        migrations.RunPython(drop_search_structures, word_search.create_search_structures),
    ]
