"""The upload form of "Import a release": every check that can be made before storing a byte.

Checks, in order: number and size of the files; the same files already imported; what
read_sources checks (types by content, zip safety: paths, member count, sizes, ratio; members
found by role); the fiscal year and effective date; a published release or a label in the way.
"""

import datetime
import hashlib

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils.html import format_html

from codes.fiscal import LABEL_RULE, MAX_LABEL, default_label, label_problem
from codes.importer import sources as roles
from codes.importer.errors import ImportFileError
from codes.importer.poa import parse_poa_files
from codes.importer.run import (
    check_index_versions,
    release_date,
    release_for_index,
    release_for_poa,
    tabular_version,
)
from codes.importer.sources import read_sources
from codes.models import PoaList, Release

MAX_FILES = 10


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input: the Code Descriptions zip, the tabular XML (or its zip)..."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None) -> list[UploadedFile]:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


def human_size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"


class ImportReleaseForm(forms.Form):
    files = MultipleFileField(
        help_text=(
            "The files exactly as CMS/CDC publish them: the Code Descriptions zip and the tabular "
            "XML (or its zip). Select several at once."
        )
    )
    fiscal_year = forms.IntegerField(
        required=False,
        min_value=2016,
        max_value=2100,
        help_text="Leave empty to read it from the file names.",
    )
    effective_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty for October 1, or the date the names give (an April 1 update).",
    )
    label = forms.CharField(
        max_length=MAX_LABEL,
        required=False,
        strip=False,  # a label with spaces around it is refused, not quietly changed
        help_text='Leave empty for "FY2026" or "FY2026 April 1 update". For an Index alone: the '
        f"release it is for, when its fiscal year has two. Labels: {LABEL_RULE}.",
    )
    index_of_another_year = forms.BooleanField(
        required=False,
        label="The Index is of another fiscal year",
        help_text="Use Index files whose version is not the release's fiscal year (they are "
        "refused otherwise).",
    )

    # Set by clean(): what the view hands to ImportRun.objects.start().
    uploads: list[tuple[str, bytes]]
    release_fiscal_year: int
    release_effective_date: datetime.date
    release_label: str
    # Only Index files were given: they go into this release, already loaded.
    index_for: Release | None = None
    # Only a POA-exempt list was given: it goes into this release, already loaded.
    poa_for: Release | None = None

    def clean_label(self) -> str:
        label = self.cleaned_data["label"]
        problem = label_problem(label) if label else None
        if problem:
            raise forms.ValidationError(f"Refused: {problem}.")
        return label

    def clean_files(self) -> list[UploadedFile]:
        files = self.cleaned_data["files"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(
                f"{len(files)} files were given; a release takes at most {MAX_FILES}."
            )
        limit = settings.IMPORT_MAX_FILE_SIZE
        too_big = [f for f in files if f.size > limit]
        if too_big:
            raise forms.ValidationError(
                [
                    f"{f.name} is {human_size(f.size)}, more than the {human_size(limit)} "
                    "allowed for one file."
                    for f in too_big
                ]
            )
        total = sum(f.size for f in files)
        if total > settings.IMPORT_MAX_UPLOAD_SIZE:
            raise forms.ValidationError(
                f"These files are {human_size(total)} together, more than the "
                f"{human_size(settings.IMPORT_MAX_UPLOAD_SIZE)} allowed for one upload."
            )
        return files

    def file_summary(self) -> list[dict]:
        """Names, SHA-256 and sizes of what was sent, for the audit even when refused."""
        summary = []
        for f in self.files.getlist("files"):
            digest = hashlib.sha256()
            for chunk in f.chunks():
                digest.update(chunk)
            summary.append({"name": f.name, "sha256": digest.hexdigest(), "size": f.size})
        return summary

    def clean(self) -> dict:
        cleaned = super().clean()
        files = cleaned.get("files")
        if not files or self.has_error("fiscal_year") or self.has_error("effective_date"):
            return cleaned
        uploads = []
        for f in files:
            f.seek(0)
            uploads.append((f.name, f.read()))
        self._refuse_same_files_again(uploads)
        another_year = bool(cleaned.get("index_of_another_year"))
        try:
            sources = read_sources(uploads)
            if not sources.has_release_files and sources.poa_members:
                return self._clean_poa_alone(sources, cleaned, uploads)
            if not sources.has_release_files:
                return self._clean_index_alone(sources, cleaned, uploads, another_year)
            if sources.get(roles.ORDER) is None and sources.get(roles.TABULAR) is None:
                raise ImportFileError(
                    "neither an order file (icd10cm_order_YYYY.txt, in the Code Descriptions "
                    "zip) nor a tabular XML is among the files: nothing says which codes exist"
                )
            fiscal_year, effective_date = release_date(
                sources,
                fiscal_year=cleaned.get("fiscal_year"),
                effective_date=cleaned.get("effective_date"),
                xml_version=tabular_version(sources),
            )
            check_index_versions(sources, fiscal_year=fiscal_year, another_year=another_year)
        except ImportFileError as error:
            raise forms.ValidationError(f"Refused, nothing was stored: {error}") from None
        label = cleaned.get("label") or default_label(fiscal_year, effective_date)
        self._refuse_clashing_release(effective_date, label)
        self.uploads = uploads
        self.release_fiscal_year = fiscal_year
        self.release_effective_date = effective_date
        self.release_label = label
        return cleaned

    def _clean_index_alone(self, sources, cleaned: dict, uploads, another_year: bool) -> dict:
        """Index files alone: they are added to a release already loaded (its codes are what
        they are checked against); a published release gets them as a draft Index to publish."""
        release = release_for_index(
            sources,
            fiscal_year=cleaned.get("fiscal_year"),
            effective_date=cleaned.get("effective_date"),
            label=cleaned.get("label"),
        )
        check_index_versions(sources, fiscal_year=release.fiscal_year, another_year=another_year)
        self.uploads = uploads
        self.index_for = release
        self.release_fiscal_year = release.fiscal_year
        self.release_effective_date = release.effective_date
        self.release_label = release.label
        return cleaned

    def _clean_poa_alone(self, sources, cleaned: dict, uploads) -> dict:
        """A POA-exempt list alone: it is added to a release already loaded, checked against
        its codes when the import runs."""
        if sources.index_members:
            raise forms.ValidationError(
                "Refused, nothing was stored: an Index and a POA-exempt list were given without "
                "the release's files: add them to a loaded release one at a time."
            )
        try:
            poa = parse_poa_files([(member.name, member.data) for member in sources.poa_members])
            release = release_for_poa(
                poa,
                fiscal_year=cleaned.get("fiscal_year"),
                effective_date=cleaned.get("effective_date"),
                label=cleaned.get("label"),
            )
        except ImportFileError as error:
            raise forms.ValidationError(f"Refused, nothing was stored: {error}") from None
        if PoaList.objects.filter(release=release).exists():
            raise forms.ValidationError(
                f"Refused, nothing was stored: {release.label} already has a POA-exempt list "
                "(re-import the release with its files to replace it)."
            )
        self.uploads = uploads
        self.poa_for = release
        self.release_fiscal_year = release.fiscal_year
        self.release_effective_date = release.effective_date
        self.release_label = release.label
        return cleaned

    def _refuse_same_files_again(self, uploads: list[tuple[str, bytes]]) -> None:
        sha256s = {hashlib.sha256(data).hexdigest() for _, data in uploads}
        existing = Release.objects.imported_from(sha256s).first()
        if existing is not None:
            raise forms.ValidationError(
                format_html(
                    'These files (same SHA-256) were already imported as <a href="{}">{}</a> '
                    "({}); nothing was stored. Delete that release first to import them again.",
                    reverse("admin:codes_release_preview", args=[existing.pk]),
                    existing.label,
                    existing.get_status_display().lower(),
                )
            )

    def _refuse_clashing_release(self, effective_date: datetime.date, label: str) -> None:
        for existing in Release.objects.filter(
            effective_date=effective_date
        ) | Release.objects.filter(label__iexact=label):
            link = reverse("admin:codes_release_preview", args=[existing.pk])
            if existing.effective_date != effective_date:
                raise forms.ValidationError(
                    format_html(
                        'The label "{}" is taken by <a href="{}">{}</a> (effective {}): give '
                        "another label.",
                        label,
                        link,
                        existing.label,
                        existing.effective_date,
                    )
                )
            if existing.is_published:
                raise forms.ValidationError(
                    format_html(
                        '<a href="{}">{}</a> (effective {}) is published: unpublish it first to '
                        "replace it. Nothing was stored.",
                        link,
                        existing.label,
                        existing.effective_date,
                    )
                )
