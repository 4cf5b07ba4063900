"""The Alphabetic Index of a release: its four parts as imported, their terms and the codes they
name. Written by codes.importer.loader alone, never edited; a new import replaces it whole.

A release shows one Index, `Release.index`. An Index imported into a published release waits
beside it as a draft until staff publish it (codes.admin), so what the public sees changes in
one step.
"""

from django.db import models, transaction
from django.db.models import Q

from codes.importer.index_xml import PART_NAMES, PARTS


class ReleaseIndex(models.Model):
    """One import of a release's Index: up to four parts (Index to Diseases and Injuries,
    External Cause Index, Table of Drugs and Chemicals, Neoplasm Table)."""

    release = models.ForeignKey("codes.Release", on_delete=models.CASCADE, related_name="indexes")
    # part -> {"file", "version", counts, unresolved references with examples}, as
    # codes.importer.index_data reports it.
    report = models.JSONField(default=dict, blank=True)
    # The table columns as the files head them: part -> [heading, ...].
    columns = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-imported_at", "-pk"]

    def __str__(self) -> str:
        return f"Index of {self.release} imported {self.imported_at:%Y-%m-%d %H:%M}"

    @property
    def parts(self) -> list[str]:
        """The parts this Index has, in the order of PARTS."""
        return [part for part in PARTS if part in self.report]

    @property
    def is_current(self) -> bool:
        return self.release.index_id == self.pk

    def version(self, part: str) -> str:
        return self.report.get(part, {}).get("version", "")

    def publish(self) -> "ReleaseIndex | None":
        """Make this the Index its release shows, in one transaction; the one it replaces is
        deleted with its rows and returned (unsaved) for the audit, or None."""
        from codes.models.releases import Release
        from codes.selection import forget_published_releases

        with transaction.atomic():
            release = Release.objects.select_for_update().get(pk=self.release_id)
            replaced = release.index
            Release.objects.filter(pk=release.pk).update(index=self)
            if replaced is not None and replaced.pk != self.pk:
                replaced.remove()
            forget_published_releases()
        self.release.index_id = self.pk
        return replaced

    def remove(self) -> None:
        """Delete this Index and its rows (a bulk delete each, not row by row)."""
        IndexTerm.objects.filter(index=self).delete()
        IndexCodeReference.objects.filter(index=self).delete()
        self.delete()


class IndexTermQuerySet(models.QuerySet):
    def in_part(self, index: ReleaseIndex, part: str) -> "IndexTermQuerySet":
        return self.filter(index=index, part=part)

    def main_terms(self) -> "IndexTermQuerySet":
        return self.filter(level=0)

    def subtree(self, term: "IndexTerm") -> "IndexTermQuerySet":
        """The term and everything below it, in file order (a range of sequence numbers)."""
        return self.filter(
            index_id=term.index_id, part=term.part, sequence__range=(term.sequence, term.last)
        ).order_by("sequence")

    def above(self, terms: "list[IndexTerm]") -> "IndexTermQuerySet":
        """The terms above these, up to their main terms, in one query: each a range of its
        main term's subtree."""
        wanted = Q(pk__in=[])
        for term in terms:
            wanted |= Q(
                index_id=term.index_id,
                part=term.part,
                sequence__gte=term.main,
                sequence__lt=term.sequence,
                last__gte=term.sequence,
            )
        return self.filter(wanted).order_by("part", "sequence")


class IndexTerm(models.Model):
    """A main term (level 0) or a nested term of one part, as printed."""

    class See(models.TextChoices):
        TERM = "term"  # resolved to the term (see_part, see_term); see_term 0: the part itself
        INSTRUCTION = "instruction"  # "see condition", "see category M01"
        PARTIAL = "partial"  # the first words resolved to see_term, the rest not
        UNRESOLVED = "unresolved"

    # No database constraint: PostgreSQL checks deferred foreign keys row by row at commit.
    index = models.ForeignKey(
        ReleaseIndex, on_delete=models.CASCADE, db_constraint=False, related_name="terms"
    )
    part = models.CharField(max_length=16, choices=[(p, PART_NAMES[p]) for p in PARTS])
    sequence = models.PositiveIntegerField()  # file order within the part: the term's id
    parent = models.PositiveIntegerField()  # its parent's sequence; 0 for a main term
    main = models.PositiveIntegerField()  # its main term's sequence (its own for a main term)
    last = models.PositiveIntegerField()  # the sequence of its last descendant
    level = models.PositiveSmallIntegerField()  # 0 for a main term
    letter = models.CharField(max_length=10)
    slug = models.CharField(max_length=120, blank=True)  # main terms: its URL within the letter
    title = models.TextField()
    nemod = models.TextField(blank=True)  # non-essential modifiers, as printed: "(acute)"
    suffix = models.TextField(blank=True)  # words after them: "NEC"
    code = models.TextField(blank=True)  # as printed: "J18.9", "I63.9-"
    manif = models.TextField(blank=True)  # manifestation code, printed in brackets
    seecat = models.TextField(blank=True)
    subcat = models.TextField(blank=True)
    warning = models.TextField(blank=True)
    cells = models.JSONField(default=list, blank=True)  # table columns 2.. as printed
    see = models.TextField(blank=True)
    see_status = models.CharField(max_length=12, choices=See.choices, blank=True)
    see_part = models.CharField(max_length=16, blank=True)
    see_term = models.PositiveIntegerField(default=0)
    see_also = models.TextField(blank=True)
    see_also_status = models.CharField(max_length=12, choices=See.choices, blank=True)
    see_also_part = models.CharField(max_length=16, blank=True)
    see_also_term = models.PositiveIntegerField(default=0)

    objects = IndexTermQuerySet.as_manager()

    class Meta:
        ordering = ["part", "sequence"]
        constraints = [
            # One term by its id; a subtree is a range of it.
            models.UniqueConstraint(
                fields=["index", "part", "sequence"], name="index_term_sequence_unique"
            ),
        ]
        indexes = [
            # The main terms of a letter, and a main term by its URL.
            models.Index(fields=["index", "part", "letter", "slug"], name="index_term_slug_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """As printed, the non-essential modifiers in parentheses."""
        return " ".join(part for part in (self.title, self.nemod, self.suffix) if part)

    @property
    def essential(self) -> str:
        return " ".join(part for part in (self.title, self.suffix) if part) or self.nemod

    @property
    def part_name(self) -> str:
        return PART_NAMES[self.part]


class IndexCodeReference(models.Model):
    """A code an Index term names (its code, manifestation, "see category", or a table cell),
    checked against the release's codes at import: what "Index entries that lead here" reads."""

    class Status(models.TextChoices):
        COMPLETE = "complete"
        INCOMPLETE = "incomplete", "more characters required"
        SEVENTH = "seventh", "7th character required"
        CATEGORY = "category", "see category"
        HEADER = "header", "a header printed as complete"
        DASH_ON_BILLABLE = "dash_on_billable", "marked incomplete, but billable"
        MISSING = "missing", "not in the release"
        MALFORMED = "malformed", "not a code"

    index = models.ForeignKey(
        ReleaseIndex, on_delete=models.CASCADE, db_constraint=False, related_name="references"
    )
    part = models.CharField(max_length=16)
    term = models.PositiveIntegerField()  # IndexTerm.sequence in that part
    level = models.PositiveSmallIntegerField()  # the term's: main terms lead a code's entries
    column = models.PositiveSmallIntegerField()  # 0 code, 1 manif, 8 see category, 2-7 cells
    code = models.CharField(max_length=7)  # undotted, without the dash; "" when malformed
    status = models.CharField(max_length=16, choices=Status.choices)

    class Meta:
        indexes = [
            # The entries that name a code or a code below it (a prefix range).
            models.Index(fields=["index", "code"], name="index_reference_code_idx"),
            # The codes of the terms of a main term's page (a range of terms).
            models.Index(fields=["index", "part", "term"], name="index_reference_term_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.part} term {self.term}: {self.code} ({self.status})"
