"""The code sets: one Release per CMS release, owning every row imported from its files.

Rows of a release are written only by codes.importer.loader and never edited afterwards: a
re-import replaces the release's rows wholesale, so a published release is immutable.
"""

import contextlib
import datetime
import hashlib
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.utils import timezone

from codes.fiscal import fiscal_year_of
from codes.icd10 import dotted, prefix_upper_bound
from codes.importer.addenda import addenda_from_report
from codes.importer.diff import (
    AddendaComparison,
    TalliedChange,
    compare_with_addenda,
    revision_kind,
    tally,
)
from codes.importer.titles import MAX_LONG_TITLE, MAX_SHORT_TITLE


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

    def imported_from(self, sha256s: set[str]) -> "ReleaseQuerySet":
        """Releases imported from exactly these files (by SHA-256): the same upload again."""
        candidates = (
            SourceFile.objects.filter(sha256__in=sha256s)
            .values("release")
            .annotate(n=Count("sha256", distinct=True))
            .filter(n=len(sha256s))
            .values("release")
        )
        return (
            self.filter(pk__in=candidates)
            .annotate(file_count=Count("source_files"))
            .filter(file_count=len(sha256s))
        )


class Release(models.Model):
    """One CMS/CDC release of the code set: a fiscal year's October file or a mid-year update."""

    class Status(models.TextChoices):
        DRAFT = "draft"
        PUBLISHED = "published"

    class Structure(models.TextChoices):
        # Where chapters, sections, hierarchy and notes came from.
        TABULAR = "tabular", "tabular XML"
        # Imported without its tabular XML: chapters and sections of the nearest release
        # imported with one (structure_from), never its notes (codes.importer.borrowed_structure).
        BORROWED = "borrowed", "another release's tabular XML (no XML imported; no notes)"
        NONE = "none", "none (codes only)"

    fiscal_year = models.PositiveSmallIntegerField()
    effective_date = models.DateField(unique=True)
    label = models.CharField(max_length=100, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    structure = models.CharField(max_length=20, choices=Structure.choices)
    # The release whose chapters and sections a BORROWED structure copies; None otherwise.
    structure_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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
    # The Alphabetic Index the release shows (None: none was imported with it). Another Index
    # imported into it later waits as a draft until published (ReleaseIndex.publish).
    index = models.ForeignKey(
        "codes.ReleaseIndex", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date"]
        indexes = [
            # in_force_on(): published releases of a fiscal year, newest first.
            models.Index(fields=["status", "fiscal_year", "effective_date"]),
        ]
        constraints = [
            # ?release= reads a label in any case: "fy2026" beside "FY2026" would be ambiguous.
            models.UniqueConstraint(Lower("label"), name="release_label_unique_any_case"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    @property
    def notes_available(self) -> bool:
        """Whether its instructional notes were imported: not without its tabular XML (those
        of the release it borrowed its structure from are not its own)."""
        return self.structure == self.Structure.TABULAR

    def change_summary(self) -> dict[str, dict[str, int]]:
        """The stored changes tallied as CMS's addenda summaries do ("revised": the long title
        changed in words), short-title-only and spacing-only revisions apart (two queries)."""
        return CodeChange.objects.filter(release=self).tallies().get(self.pk, tally([]))

    def running_import(self) -> "ImportRun | None":
        """The import of this release's effective date that is queued or running, if any: it
        replaces this release's rows (or adds an Index to them) when it runs."""
        return ImportRun.objects.active().filter(effective_date=self.effective_date).first()

    def refuse_if_busy(self) -> None:
        """ReleaseBusy when an import of this release is queued or running."""
        run = self.running_import()
        if run is not None:
            raise ReleaseBusy(
                f"{self.label} is being imported again (import #{run.pk}, "
                f"{run.get_status_display().lower()}): try again once that import has "
                "finished. Nothing was changed."
            )

    def _lock_unless_busy(self) -> None:
        """Inside a transaction: lock this release's row, or raise ReleaseBusy when an import
        would replace it (queued or running) or has replaced it since it was read."""
        self.refuse_if_busy()
        if not Release.objects.select_for_update().filter(pk=self.pk).exists():
            raise ReleaseBusy(
                f"{self.label} was replaced by an import meanwhile: open the release list "
                "again. Nothing was changed."
            )

    def publish(self) -> None:
        """Make the release visible to the public pages and the API: one UPDATE, and the
        releases after it compared to it again and those without tabular XML given their
        nearest structure, in the same transaction."""
        from codes.importer.borrowed_structure import refresh_borrowed_structures
        from codes.importer.loader import refresh_changes_after
        from codes.selection import forget_published_releases

        now = timezone.now()
        with transaction.atomic():
            self._lock_unless_busy()
            Release.objects.filter(pk=self.pk).update(
                status=Release.Status.PUBLISHED, published_at=now
            )
            refresh_changes_after(self.effective_date)
            refresh_borrowed_structures()
            forget_published_releases()
        self.status, self.published_at = Release.Status.PUBLISHED, now

    def unpublish(self) -> None:
        """Take the release back to draft; its rows stay, ready to be published again. The
        releases after it are compared to the published release before it instead, and those
        that borrowed its structure borrow another's."""
        from codes.importer.borrowed_structure import refresh_borrowed_structures
        from codes.importer.loader import refresh_changes_after
        from codes.selection import forget_published_releases

        with transaction.atomic():
            self._lock_unless_busy()
            Release.objects.filter(pk=self.pk).update(
                status=Release.Status.DRAFT, published_at=None
            )
            refresh_changes_after(self.effective_date)
            refresh_borrowed_structures()
            forget_published_releases()
        self.status, self.published_at = Release.Status.DRAFT, None

    def remove(self) -> None:
        """Delete the release and all its rows; the releases after it are compared again, and
        those that borrowed its structure borrow another's."""
        from codes.importer.borrowed_structure import refresh_borrowed_structures
        from codes.importer.loader import refresh_changes_after

        with transaction.atomic():
            self._lock_unless_busy()
            self.delete()
            refresh_changes_after(self.effective_date)
            refresh_borrowed_structures()

    def not_loaded_since_compared(self) -> str:
        """The fiscal years between this release and the one its changes are computed against,
        none of them loaded ("FY2018–FY2024"), or "" when that one is its predecessor: its
        changes then add up every year in between."""
        if self.compared_to is None or self.compared_to.fiscal_year >= self.fiscal_year - 1:
            return ""
        first, last = self.compared_to.fiscal_year + 1, self.fiscal_year - 1
        return f"FY{first}" if first == last else f"FY{first}–FY{last}"

    def comparison_note(self) -> str:
        """Said wherever the changes are shown when they are not against the release just
        before: "compared with FY2017; FY2018–FY2023 are not loaded", else ""."""
        gap = self.not_loaded_since_compared()
        if not gap:
            return ""
        verb = "are" if "–" in gap else "is"
        return f"compared with {self.compared_to.label}; {gap} {verb} not loaded"

    def addenda_comparison(self) -> AddendaComparison | None:
        """The stored changes against the order addenda shipped with the release, code by code
        (compare_with_addenda); None when it came without addenda or nothing was compared."""
        addenda = self.report.get("addenda")
        if not addenda or self.compared_to_id is None:
            return None
        if "changes" not in addenda:
            # Imported before the addenda lines were kept: their summary is all there is.
            listed = self.change_summary()
            return AddendaComparison(
                differences=[
                    f"the addenda summary counts {addenda[name][change]} {name} {change}, the "
                    f"computed changes {listed[name][change]}"
                    for name in ("codes", "headers")
                    for change in CodeChange.Change.values
                    if addenda[name][change] != listed[name][change]
                ],
                listed_apart=[],
            )
        return compare_with_addenda(self.changes.tallied(), addenda_from_report(addenda))

    def addenda_agrees(self) -> bool | None:
        """Whether the stored changes agree with the order addenda shipped with the release;
        None when it came without addenda or nothing was compared."""
        comparison = self.addenda_comparison()
        return None if comparison is None else comparison.agrees


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
    # The heading section whose range holds this one ("V00-V99" holds "V00-V09"); None at the top.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="subsections"
    )
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
    short_title = models.CharField(max_length=MAX_SHORT_TITLE, blank=True)
    long_title = models.CharField(max_length=MAX_LONG_TITLE)
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
    # Its inclusion terms, one a line, copied from its notes by the loader: the word index
    # (codes.word_index) reads them with the title.
    inclusion_terms = models.TextField(blank=True, default="")

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
    # A 7th-character definition's character, or the one a 7th-character note words further.
    character = models.CharField(max_length=1, blank=True)
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

    @property
    def heading(self) -> str:
        return self.heading_of(self.kind)

    @property
    def kind_label(self) -> str:
        return self.label_of(self.kind)

    # Of a kind alone: pages and API answers read the notes a process holds as rows
    # (codes.release_data.NoteRow), not instances.
    @staticmethod
    def heading_of(kind: str) -> str:
        """The kind as pages head it: inclusion terms by the name coders use, "Applicable to"."""
        if kind == Note.Kind.INCLUSION_TERM:
            return "Applicable to (inclusion terms)"
        return Note.label_of(kind)

    @staticmethod
    def label_of(kind: str) -> str:
        """get_kind_display(), which builds the choices anew on each call (a page shows dozens)."""
        return _NOTE_KIND_LABELS.get(kind, kind)


_NOTE_KIND_LABELS = dict(Note.Kind.choices)


class CodeChangeQuerySet(models.QuerySet):
    def tallied(self) -> list[TalliedChange]:
        """Every change with its kind (a revision's is revision_kind's)."""
        rows = self.values_list(
            "code",
            "change",
            "is_billable",
            "old_short_title",
            "old_long_title",
            "new_short_title",
            "new_long_title",
        )
        return [
            TalliedChange(code, change, is_billable, _kind(change, *titles))
            for code, change, is_billable, *titles in rows.order_by().iterator(10_000)
        ]

    def tallies(self) -> dict[int, dict[str, dict[str, int]]]:
        """Release id -> its changes tallied (diff.tally) for the releases that have any: counts
        by the database, titles read for the revisions only (two queries)."""
        found: dict[int, dict[str, dict[str, int]]] = {}
        counts = self.values_list("release_id", "is_billable", "change").annotate(n=Count("id"))
        for release_id, is_billable, change, count in counts.order_by():
            found.setdefault(release_id, tally([]))
            found[release_id]["codes" if is_billable else "headers"][change] = count
        revisions = self.filter(change=CodeChange.Change.REVISED).values_list(
            "release_id",
            "is_billable",
            "old_short_title",
            "old_long_title",
            "new_short_title",
            "new_long_title",
        )
        for release_id, is_billable, *titles in revisions.order_by().iterator(10_000):
            kind = _kind(CodeChange.Change.REVISED, *titles)
            if kind != CodeChange.Change.REVISED:
                counts_of = found[release_id]["codes" if is_billable else "headers"]
                counts_of[CodeChange.Change.REVISED] -= 1
                counts_of[kind] += 1
        return found


def _kind(change: str, old_short: str, old_long: str, new_short: str, new_long: str) -> str:
    if change != CodeChange.Change.REVISED:
        return change
    return revision_kind(
        old_short=old_short, old_long=old_long, new_short=new_short, new_long=new_long
    )


class CodeChange(models.Model):
    """One line of the diff between a release and the one before it, by CMS's definitions.

    Added: a code new in this release. Deleted: no longer there with that flag (a billable code
    that becomes a header is deleted as billable and added as header). Revised: same code and
    flag, new short or long title. `is_billable` says which of CMS's two tallies it counts in.
    A revision is tallied by its kind (codes.importer.diff.revision_kind): "revised" when the
    long title changed in words, else short title only or spacing only.
    """

    class Change(models.TextChoices):
        ADDED = "added"
        DELETED = "deleted"
        REVISED = "revised"

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="changes")
    code = models.CharField(max_length=7)
    change = models.CharField(max_length=7, choices=Change.choices)
    is_billable = models.BooleanField()
    old_short_title = models.CharField(max_length=MAX_SHORT_TITLE, blank=True)
    old_long_title = models.CharField(max_length=MAX_LONG_TITLE, blank=True)
    new_short_title = models.CharField(max_length=MAX_SHORT_TITLE, blank=True)
    new_long_title = models.CharField(max_length=MAX_LONG_TITLE, blank=True)

    objects = CodeChangeQuerySet.as_manager()

    class Meta:
        ordering = ["code", "change"]
        indexes = [
            # A release's changes of one type; a code's changes across releases.
            models.Index(fields=["release", "change", "code"], name="change_type_idx"),
            models.Index(fields=["code"], name="change_code_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.change} {dotted(self.code)}"

    @property
    def kind(self) -> str:
        """The change, or for a revision its kind: what the tallies count it as."""
        return _kind(
            self.change,
            self.old_short_title,
            self.old_long_title,
            self.new_short_title,
            self.new_long_title,
        )


class ReleaseBusy(Exception):
    """Publishing, unpublishing or deleting a release that an import is replacing."""


class ImportInProgress(Exception):
    """Another import of the same release is queued or running; the two must not interleave."""

    def __init__(self, run: "ImportRun") -> None:
        self.run = run
        super().__init__(
            f"an import of {run.label} (effective {run.effective_date}) is already "
            f"{run.get_status_display().lower()} (import #{run.pk}, started by "
            f"{run.created_by_name or 'someone'}): wait for it to finish"
        )


class RunTakenOver(Exception):
    """The run's worker was declared dead while it still ran: the run is no longer its own."""

    def __init__(self, run: "ImportRun") -> None:
        self.run = run
        super().__init__(f"import #{run.pk} was declared dead while its worker still ran")


class ImportRunQuerySet(models.QuerySet):
    def active(self) -> "ImportRunQuerySet":
        return self.filter(status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING])

    def fail_stale(self) -> int:
        """Mark failed the running imports whose worker stopped reporting: killed or crashed.

        Reads first and writes only when something is stale: on SQLite a write would wait for
        an import holding the write lock, and this runs on every status page.
        """
        cutoff = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_AFTER)
        stale = self.filter(status=ImportRun.Status.RUNNING, heartbeat_at__lt=cutoff)
        return sum(run.fail_as_dead() for run in stale)

    def start(
        self,
        *,
        uploads: list[tuple[str, bytes]],
        fiscal_year: int,
        effective_date: datetime.date,
        label: str,
        user: models.Model | None,
        index_only: bool = False,
        index_of_another_year: bool = False,
        poa_only: bool = False,
    ) -> "ImportRun":
        """Queue an import of these files, or raise ImportInProgress for the same release.

        The unique active key (the effective date while queued or running) makes the refusal
        hold even for two uploads arriving at the same instant.
        """
        self.fail_stale()
        key = effective_date.isoformat()
        try:
            with transaction.atomic():
                run = self.create(
                    fiscal_year=fiscal_year,
                    effective_date=effective_date,
                    label=label,
                    active_key=key,
                    created_by=user,
                    created_by_name=user.get_username() if user else "",
                    stage="Waiting for a worker",
                    index_only=index_only,
                    index_of_another_year=index_of_another_year,
                    poa_only=poa_only,
                )
        except IntegrityError:
            raise ImportInProgress(self.get(active_key=key)) from None
        run.store_files(uploads)
        return run


class ImportRun(models.Model):
    """One upload handed to the background import: its files, where it stands, how it ended.

    The files are stored under IMPORT_UPLOAD_DIR until the run ends. The worker reports the
    stage, a percentage and a heartbeat; a running import whose heartbeat is older than
    IMPORT_STALE_AFTER seconds is taken as dead (its worker was killed) and marked failed,
    keeping its files so that it can be retried.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    stage = models.CharField(max_length=200, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    messages = models.JSONField(default=list, blank=True)  # what happened, in order
    # [{"name", "sha256", "size", "path"}]; path is relative to IMPORT_UPLOAD_DIR, "" once removed
    files = models.JSONField(default=list, blank=True)
    # The release the files make, as the form resolved it from the operator and the file names.
    fiscal_year = models.PositiveSmallIntegerField()
    effective_date = models.DateField()
    label = models.CharField(max_length=100)
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_runs"
    )
    # The effective date while queued or running, else NULL: unique, so one import per release.
    active_key = models.CharField(max_length=10, null=True, blank=True, unique=True)
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # Only Index files, added to the release `label` names (a draft Index if it is published).
    index_only = models.BooleanField(default=False)
    # The operator accepted Index files whose <version> is not the release's fiscal year.
    index_of_another_year = models.BooleanField(default=False)
    # Only a POA-exempt list, added to the release `label` names.
    poa_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by_name = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    objects = ImportRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("import_release", "Can import and publish releases")]

    def __str__(self) -> str:
        return f"Import #{self.pk} of {self.label}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)

    @property
    def can_retry(self) -> bool:
        """A failed run whose files are still here: its worker died before the end."""
        return self.status == self.Status.FAILED and bool(self.files) and self._files_present()

    def file_summary(self) -> list[dict]:
        """Names, SHA-256 and sizes, as the audit records them."""
        return [{key: f[key] for key in ("name", "sha256", "size")} for f in self.files]

    # Files ------------------------------------------------------------------------------------

    @property
    def upload_dir(self) -> Path:
        return Path(settings.IMPORT_UPLOAD_DIR) / f"run-{self.pk}"

    def store_files(self, uploads: list[tuple[str, bytes]]) -> None:
        """Write the uploads under numbered names: nothing the browser sent becomes a path."""
        folder = self.upload_dir
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for position, (name, data) in enumerate(uploads):
            (folder / str(position)).write_bytes(data)
            files.append(
                {
                    "name": name,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "size": len(data),
                    "path": f"{folder.name}/{position}",
                }
            )
        self.files = files
        self.save(update_fields=["files"])

    def read_files(self) -> list[tuple[str, bytes]]:
        root = Path(settings.IMPORT_UPLOAD_DIR)
        files = []
        for f in self.files:
            try:
                files.append((f["name"], (root / f["path"]).read_bytes()))
            except OSError as error:
                # Named as uploaded: the server's folders are nobody's business.
                from codes.importer.errors import ImportFileError

                raise ImportFileError(
                    f"the uploaded file is no longer on the server ({error.strerror or 'gone'}); "
                    "upload it again",
                    file=f["name"],
                ) from None
        return files

    def delete_files(self) -> None:
        """Delete the files this run holds now (read again: a retry may have taken them)."""
        root = Path(settings.IMPORT_UPLOAD_DIR)
        self.files = ImportRun.objects.values_list("files", flat=True).get(pk=self.pk)
        for f in self.files:
            if f["path"]:
                (root / f["path"]).unlink(missing_ok=True)
        folders = {(root / f["path"]).parent for f in self.files if f["path"]}
        for folder in folders:
            with contextlib.suppress(OSError):
                folder.rmdir()
        self.files = [{**f, "path": ""} for f in self.files]
        ImportRun.objects.filter(pk=self.pk).update(files=self.files)

    def _files_present(self) -> bool:
        root = Path(settings.IMPORT_UPLOAD_DIR)
        return all(f["path"] and (root / f["path"]).is_file() for f in self.files)

    # Life cycle ------------------------------------------------------------------------------

    def claim(self) -> bool:
        """Queued -> running, for the worker; False when it was cancelled or taken meanwhile."""
        now = timezone.now()
        claimed = ImportRun.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started_at=now, heartbeat_at=now, stage="Starting"
        )
        if claimed:
            self.status, self.started_at, self.heartbeat_at = self.Status.RUNNING, now, now
        return bool(claimed)

    def report(self, stage: str, progress: int) -> None:
        """The worker's progress, which is also its heartbeat; RunTakenOver when the run was
        declared dead meanwhile (its files may belong to a retry by now)."""
        now = timezone.now()
        self.stage, self.progress, self.heartbeat_at = stage[:200], progress, now
        updated = ImportRun.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
            stage=self.stage, progress=progress, heartbeat_at=now, messages=self.messages
        )
        if not updated:
            raise RunTakenOver(self)

    def succeed(self, release: Release) -> bool:
        if self.poa_only:
            message = f"Added the POA-exempt list to {release.label}."
        elif not self.index_only:
            message = f"Imported {release.label} as a draft."
        elif release.is_published:
            message = (
                f"Imported the Index of {release.label} as a draft Index: preview it and "
                "publish it on the release's page."
            )
        else:
            message = f"Imported the Index of {release.label} (a draft release)."
        return self._finish(self.Status.SUCCEEDED, message, release)

    def fail(self, message: str) -> bool:
        return self._finish(self.Status.FAILED, message)

    def fail_as_dead(self) -> bool:
        """Mark failed a run whose worker stopped reporting; False when it reported meanwhile."""
        message = (
            f'The worker stopped while "{self.stage}" (no sign of life since '
            f"{self.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC): it was killed or crashed. Nothing of "
            "this import was stored, and nothing public changed. Retry it."
        )
        now = timezone.now()
        updated = ImportRun.objects.filter(
            pk=self.pk, status=self.Status.RUNNING, heartbeat_at=self.heartbeat_at
        ).update(
            status=self.Status.FAILED,
            active_key=None,
            finished_at=now,
            messages=[*self.messages, message],
        )
        if updated:
            self.status, self.active_key, self.finished_at = self.Status.FAILED, None, now
            self.messages = [*self.messages, message]
        return bool(updated)

    def retry(self, *, user: models.Model | None) -> "ImportRun":
        """A new run of the same files, which it takes over; ImportInProgress when busy."""
        try:
            with transaction.atomic():
                retry = ImportRun.objects.create(
                    fiscal_year=self.fiscal_year,
                    effective_date=self.effective_date,
                    label=self.label,
                    index_only=self.index_only,
                    index_of_another_year=self.index_of_another_year,
                    poa_only=self.poa_only,
                    active_key=self.effective_date.isoformat(),
                    retry_of=self,
                    files=self.files,
                    created_by=user,
                    created_by_name=user.get_username() if user else "",
                    stage="Waiting for a worker",
                )
                # The files now belong to the retry: this run keeps only their names.
                self.files = [{**f, "path": ""} for f in self.files]
                self.save(update_fields=["files"])
        except IntegrityError:
            raise ImportInProgress(
                ImportRun.objects.get(active_key=self.effective_date.isoformat())
            ) from None
        return retry

    def cancel(self, *, by: str) -> bool:
        """Drop a run no worker has started yet; False when one has."""
        message = f"Cancelled by {by} before a worker started it."
        updated = ImportRun.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.FAILED,
            active_key=None,
            finished_at=timezone.now(),
            messages=[*self.messages, message],
        )
        if updated:
            self.refresh_from_db()
            self.delete_files()
        return bool(updated)

    def _finish(self, status: str, message: str, release: Release | None = None) -> bool:
        """Record the outcome; False, recording nothing, when the run had already ended (a
        worker declared dead that finished after all)."""
        finished_at = timezone.now()
        done = status == self.Status.SUCCEEDED
        updated = ImportRun.objects.filter(
            pk=self.pk, status__in=[self.Status.QUEUED, self.Status.RUNNING]
        ).update(
            status=status,
            messages=[*self.messages, message],
            release=release or self.release,
            active_key=None,
            finished_at=finished_at,
            progress=100 if done else self.progress,
            stage="Done" if done else self.stage,
        )
        if updated:
            self.refresh_from_db()
        return bool(updated)


class AuditEvent(models.Model):
    """One thing staff did to the releases: who, when, to what, with which files, and how it
    ended. Written once, never edited."""

    class Action(models.TextChoices):
        UPLOAD = "upload"
        IMPORT = "import"
        RETRY = "retry"
        CANCEL = "cancel"
        PUBLISH = "publish"
        UNPUBLISH = "unpublish"
        DELETE = "delete"
        PUBLISH_INDEX = "publish_index", "publish Index"
        DISCARD_INDEX = "discard_index", "discard Index"

    class Outcome(models.TextChoices):
        OK = "ok"
        REFUSED = "refused"
        FAILED = "failed"

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.CharField(max_length=150, blank=True)  # a user name; kept if the user goes
    release = models.ForeignKey(
        Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    release_label = models.CharField(max_length=100, blank=True)
    import_run = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    files = models.JSONField(default=list, blank=True)  # [{"name", "sha256", "size"}]
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # The admin's audit list, newest first.
            models.Index(fields=["-at"], name="audit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.release_label} by {self.actor}: {self.outcome}"

    @classmethod
    def record(
        cls,
        action: str,
        *,
        actor: str,
        outcome: str = Outcome.OK,
        message: str = "",
        release: Release | None = None,
        release_label: str = "",
        import_run: ImportRun | None = None,
        files: list[dict] | None = None,
    ) -> "AuditEvent":
        return cls.objects.create(
            action=action,
            actor=actor,
            outcome=outcome,
            message=message,
            release=release,
            release_label=release_label or (release.label if release else ""),
            import_run=import_run,
            files=files if files is not None else (import_run.file_summary() if import_run else []),
        )


class ConversionEntry(models.Model):
    """One pair of CMS's conversion table imported with a release: a current code and a code
    (or range) it was coded as before the change that took effect in `fiscal_year`.

    Read backwards it names the successors of a deleted code (T78.07XA -> T78.070A, ...). A row
    of the table with several previous codes becomes several entries; a range ("H02.101-H02.106")
    is one entry with `previous_code_last` set.
    """

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="conversions")
    current_code = models.CharField(max_length=7)  # undotted
    previous_code = models.CharField(max_length=7)  # undotted; the first of a range
    previous_code_last = models.CharField(max_length=7, blank=True)  # "" unless a range
    fiscal_year = models.PositiveSmallIntegerField()  # of the change
    effective_date = models.DateField()  # October 1, or the date of a mid-year update
    sequence = models.PositiveIntegerField()  # row order in the table

    class Meta:
        ordering = ["sequence"]
        indexes = [
            # What replaced a code, in one release's table (successors of a deleted code).
            models.Index(fields=["release", "previous_code"], name="conversion_previous_idx"),
        ]

    def __str__(self) -> str:
        previous = dotted(self.previous_code)
        if self.previous_code_last:
            previous += f"-{dotted(self.previous_code_last)}"
        return f"{dotted(self.current_code)} (FY{self.fiscal_year}) from {previous}"
