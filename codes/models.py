"""The code sets: one Release per CMS release, owning every row imported from its files.

Rows of a release are written only by codes.importer.loader and never edited afterwards: a
re-import replaces the release's rows wholesale, so a published release is immutable.
"""

import datetime

from django.db import models
from django.db.models import Count, Q

from codes.fiscal import fiscal_year_of
from codes.icd10 import dotted, prefix_upper_bound


class ReleaseQuerySet(models.QuerySet):
    def published(self) -> "ReleaseQuerySet":
        return self.filter(status=Release.Status.PUBLISHED)

    def in_force_on(self, day: datetime.date) -> "Release | None":
        """The published release a claim with this date of service is coded from (one query).

        The latest release effective on or before the day, within the day's fiscal year: an
        April update replaces the October file for the rest of its fiscal year only.
        """
        return (
            self.published()
            .filter(fiscal_year=fiscal_year_of(day), effective_date__lte=day)
            .order_by("-effective_date")
            .first()
        )

    def latest_of_fiscal_year(self, fiscal_year: int) -> "Release | None":
        return self.published().filter(fiscal_year=fiscal_year).order_by("-effective_date").first()

    def before(self, release: "Release") -> "ReleaseQuerySet":
        return self.filter(effective_date__lt=release.effective_date).order_by("-effective_date")

    def after(self, release: "Release") -> "ReleaseQuerySet":
        return self.filter(effective_date__gt=release.effective_date).order_by("effective_date")


class Release(models.Model):
    """One CMS/CDC release of the code set: a fiscal year's October file or a mid-year update."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    class Structure(models.TextChoices):
        # Where chapters, sections, hierarchy and notes came from.
        TABULAR = "tabular", "tabular XML"
        PREVIOUS_RELEASE = "previous_release", "previous release (no XML imported)"
        NONE = "none", "none (codes only)"

    fiscal_year = models.PositiveSmallIntegerField()
    effective_date = models.DateField(unique=True)
    label = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    structure = models.CharField(max_length=20, choices=Structure.choices)
    # The release the stored changes were computed against (the one before it in the line).
    compared_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entry_count = models.PositiveIntegerField(default=0)
    billable_count = models.PositiveIntegerField(default=0)
    header_count = models.PositiveIntegerField(default=0)
    chapter_count = models.PositiveIntegerField(default=0)
    section_count = models.PositiveIntegerField(default=0)
    note_count = models.PositiveIntegerField(default=0)
    # Cross-checks (order vs codes vs XML vs addenda), warnings and what could not be placed.
    report = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=150, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date"]
        indexes = [
            # in_force_on(): published releases of a fiscal year, newest first.
            models.Index(fields=["status", "fiscal_year", "effective_date"]),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def previous(self) -> "Release | None":
        """The release before this one in the line, published or not."""
        return Release.objects.before(self).first()

    def change_summary(self) -> dict[str, dict[str, int]]:
        """The stored changes tallied as in CMS's addenda summary (one query)."""
        summary = {
            tally: {change: 0 for change in CodeChange.Change.values}
            for tally in ("codes", "headers")
        }
        rows = self.changes.values_list("is_billable", "change").annotate(n=Count("id"))
        for is_billable, change, count in rows.order_by():
            summary["codes" if is_billable else "headers"][change] = count
        return summary

    def addenda_agrees(self) -> bool | None:
        """Whether the stored changes equal the summary of the order addenda shipped with the
        release; None when it came without addenda or nothing was compared."""
        expected = self.report.get("addenda")
        if not expected or self.compared_to_id is None:
            return None
        return expected == self.change_summary()


class SourceFile(models.Model):
    """A file the release was imported from, as the operator handed it over."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="source_files")
    name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()

    def __str__(self) -> str:
        return self.name


class Chapter(models.Model):
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="chapters")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=255)
    first_code = models.CharField(max_length=7)
    last_code = models.CharField(max_length=7)
    sequence = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["release", "number"], name="chapter_number_unique")
        ]

    def __str__(self) -> str:
        return f"Chapter {self.number}: {self.title} ({self.code_range})"

    @property
    def code_range(self) -> str:
        return f"{self.first_code}-{self.last_code}"


class Section(models.Model):
    """A block of categories ("Z40-Z53"). Its id may equal a code ("T07"): a shared namespace."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="sections")
    chapter = models.ForeignKey(Chapter, on_delete=models.CASCADE, related_name="sections")
    section_id = models.CharField(max_length=15)
    title = models.CharField(max_length=255)
    first_code = models.CharField(max_length=7)
    last_code = models.CharField(max_length=7)
    sequence = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.UniqueConstraint(fields=["release", "section_id"], name="section_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.section_id})"


class CodeQuerySet(models.QuerySet):
    def in_release(self, release: Release) -> "CodeQuerySet":
        return self.filter(release=release)

    def billable(self) -> "CodeQuerySet":
        return self.filter(is_billable=True)

    def with_prefix(self, prefix: str) -> "CodeQuerySet":
        """Codes starting with an undotted prefix: a range the (release, code) index serves."""
        codes = self.filter(code__gte=prefix)
        upper = prefix_upper_bound(prefix)
        return codes.filter(code__lt=upper) if upper else codes


class Code(models.Model):
    """One entry of the order file: a category, a subcategory header or a billable code."""

    class Kind(models.TextChoices):
        CATEGORY = "category"  # 3 characters; billable when it has no subdivisions (I10)
        SUBCATEGORY = "subcategory"  # 4 to 6 characters with codes below it
        CODE = "code"  # billable, 4 to 7 characters

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=7)  # undotted; dotted() formats it
    short_title = models.CharField(max_length=60, blank=True)
    long_title = models.CharField(max_length=400)
    is_billable = models.BooleanField()
    kind = models.CharField(max_length=11, choices=Kind.choices)
    parent_code = models.CharField(max_length=7, blank=True)  # "" for a category
    depth = models.PositiveSmallIntegerField()  # 0 for a category
    # No database constraint on chapter and section: PostgreSQL checks deferred foreign keys
    # row by row at commit (a second per release). The loader writes them in the same
    # transaction as their chapters and sections, and Django cascades the deletes.
    chapter = models.ForeignKey(
        Chapter, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False
    )
    sequence = models.PositiveIntegerField()  # the order number: tabular order in this release

    objects = CodeQuerySet.as_manager()

    class Meta:
        ordering = ["sequence"]
        constraints = [
            # Lookup of one code in a release; prefix ranges (with_prefix) use it too.
            models.UniqueConstraint(fields=["release", "code"], name="code_in_release_unique"),
        ]
        indexes = [
            # Children of a code, in tabular order.
            models.Index(fields=["release", "parent_code", "sequence"], name="code_children_idx"),
            # Browsing a release in tabular order (sections, chapters, downloads).
            models.Index(fields=["release", "sequence"], name="code_sequence_idx"),
            # History: one code across every release.
            models.Index(fields=["code"], name="code_history_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dotted} {self.long_title}"

    @property
    def dotted(self) -> str:
        return dotted(self.code)


class Note(models.Model):
    """An instructional note, attached in tabular order to a chapter, a section or a code."""

    class Kind(models.TextChoices):
        INCLUSION_TERM = "inclusion_term", "Inclusion term"
        INCLUDES = "includes", "Includes"
        EXCLUDES1 = "excludes1", "Excludes1"
        EXCLUDES2 = "excludes2", "Excludes2"
        CODE_FIRST = "code_first", "Code first"
        USE_ADDITIONAL_CODE = "use_additional_code", "Use additional code"
        CODE_ALSO = "code_also", "Code also"
        NOTE = "note", "Note"
        SEVENTH_CHARACTER_NOTE = "seventh_character_note", "7th character note"
        SEVENTH_CHARACTER = "seventh_character", "7th character"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="notes")
    # Exactly one owner: a chapter, a section, or a code of the release (undotted).
    # No database constraint, as for Code.chapter and Code.section.
    chapter = models.ForeignKey(
        Chapter, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.CASCADE, db_constraint=False
    )
    code = models.CharField(max_length=7, blank=True)
    kind = models.CharField(max_length=25, choices=Kind.choices)
    text = models.TextField()
    character = models.CharField(max_length=1, blank=True)  # for 7th-character definitions
    sequence = models.PositiveIntegerField()  # document order within the release

    class Meta:
        ordering = ["sequence"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(chapter__isnull=False, section__isnull=True, code="")
                    | Q(chapter__isnull=True, section__isnull=False, code="")
                    | (Q(chapter__isnull=True, section__isnull=True) & ~Q(code=""))
                ),
                name="note_has_one_owner",
            )
        ]
        indexes = [
            # Notes of a code and of its ancestors on a code page.
            models.Index(fields=["release", "code"], name="note_code_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:60]}"


class CodeChange(models.Model):
    """One line of the diff between a release and the one before it, by CMS's definitions.

    Added: a code new in this release. Deleted: no longer there with that flag (a billable code
    that becomes a header is deleted as billable and added as header). Revised: same code and
    flag, new short or long title. `is_billable` says which of CMS's two tallies it counts in.
    """

    class Change(models.TextChoices):
        ADDED = "added"
        DELETED = "deleted"
        REVISED = "revised"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="changes")
    code = models.CharField(max_length=7)
    change = models.CharField(max_length=7, choices=Change.choices)
    is_billable = models.BooleanField()
    old_short_title = models.CharField(max_length=60, blank=True)
    old_long_title = models.CharField(max_length=400, blank=True)
    new_short_title = models.CharField(max_length=60, blank=True)
    new_long_title = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["code", "change"]
        indexes = [
            # A release's changes of one type; a code's changes across releases.
            models.Index(fields=["release", "change", "code"], name="change_type_idx"),
            models.Index(fields=["code"], name="change_code_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.change} {dotted(self.code)}"
