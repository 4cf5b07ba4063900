# The word search of codes.search, per database:
# - PostgreSQL: pg_trgm, a GIN index on the weighted tsvector of title + inclusion terms (the same
#   expression codes.search.word_vector() builds, so the planner uses it) and a GIN trigram index
#   on the title for the misspelling fallback.
# - SQLite: an FTS5 table over codes_code (external content: it stores only the index). The
#   loader indexes a release's rows in one INSERT ... SELECT after writing them (a trigger per
#   row made an import twice as slow); triggers keep it in step on DELETE and UPDATE, so Django's
#   cascading deletes maintain it. Without FTS5 compiled in, nothing is created and
#   codes.search uses LIKE.

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.contrib.postgres.search import SearchVector
from django.db import migrations, models

WORDS_INDEX = "code_words_idx"
TITLE_TRIGRAM_INDEX = "code_title_trgm_idx"
FTS_TABLE = "codes_code_words"


def _postgres_indexes():
    vector = SearchVector("long_title", weight="A", config="english") + SearchVector(
        "inclusion_terms", weight="B", config="english"
    )
    return [
        GinIndex(vector, name=WORDS_INDEX),
        GinIndex(fields=["long_title"], name=TITLE_TRIGRAM_INDEX, opclasses=["gin_trgm_ops"]),
    ]


SQLITE_CREATE = [
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
        long_title, inclusion_terms, content='codes_code', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2')""",
    f"""CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON codes_code BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, long_title, inclusion_terms)
        VALUES ('delete', old.id, old.long_title, old.inclusion_terms);
    END""",
    f"""CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF long_title, inclusion_terms
        ON codes_code BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, long_title, inclusion_terms)
        VALUES ('delete', old.id, old.long_title, old.inclusion_terms);
        INSERT INTO {FTS_TABLE}(rowid, long_title, inclusion_terms)
        VALUES (new.id, new.long_title, new.inclusion_terms);
    END""",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_delete",
    f"DROP TRIGGER IF EXISTS {FTS_TABLE}_update",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def fill_inclusion_terms(apps, schema_editor):
    """Copy the inclusion terms of releases imported before this migration."""
    if schema_editor.connection.vendor == "postgresql":
        aggregate = "string_agg(text, E'\\n' ORDER BY sequence)"
    else:
        aggregate = "group_concat(text, char(10))"
    schema_editor.execute(
        f"""UPDATE codes_code SET inclusion_terms = terms.text
        FROM (SELECT release_id, code, {aggregate} AS text FROM codes_note
              WHERE kind = 'inclusion_term' AND code <> '' GROUP BY release_id, code) AS terms
        WHERE codes_code.release_id = terms.release_id AND codes_code.code = terms.code"""
    )


def create_search_structures(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        code = apps.get_model("codes", "Code")
        for index in _postgres_indexes():
            schema_editor.add_index(code, index)
    elif connection.vendor == "sqlite" and _has_fts5(connection):
        for statement in SQLITE_CREATE:
            schema_editor.execute(statement)


def drop_search_structures(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        code = apps.get_model("codes", "Code")
        for index in _postgres_indexes():
            schema_editor.remove_index(code, index)
    elif connection.vendor == "sqlite":
        for statement in SQLITE_DROP:
            schema_editor.execute(statement)


def _has_fts5(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')")
        if cursor.fetchone()[0]:
            return True
        # Loaded as an extension rather than compiled in: try it.
        try:
            cursor.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(x)")
            cursor.execute("DROP TABLE temp.fts5_probe")
        except Exception:
            return False
        return True


class Migration(migrations.Migration):

    dependencies = [
        ("codes", "0003_conversion_table"),
    ]

    operations = [
        migrations.AddField(
            model_name="code",
            name="inclusion_terms",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(fill_inclusion_terms, migrations.RunPython.noop),
        TrigramExtension(),  # skipped on SQLite by Django itself
        migrations.RunPython(create_search_structures, drop_search_structures),
    ]
