"""The admin: releases (import, preview, publish, delete), codes, import runs, the audit.

Release data is read-only here: rows are written by the importer alone, and the release admin
only adds the import flow (codes.admin.importing) and the publish switch, all behind the
codes.import_release permission.
"""

import functools
import re

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from codes.admin import importing, indexes
from codes.admin.refusals import refuse_busy
from codes.icd10 import undotted
from codes.models import AuditEvent, Code, ImportRun, Release, ReleaseBusy

# Every view of the import flow, and the release admin itself, need it.
IMPORT_PERMISSION = "codes.import_release"


def can_import(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(IMPORT_PERMISSION)


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = [
        "label",
        "fiscal_year",
        "effective_date",
        "status",
        "entry_count",
        "billable_count",
        "compared_to",
        "imported_at",
        "published_at",
        "preview_link",
    ]
    list_filter = ["status", "fiscal_year"]
    list_select_related = ["compared_to"]
    actions = None
    change_list_template = "admin/codes/release/change_list.html"

    @admin.display(description="")
    def preview_link(self, release: Release) -> str:
        return format_html(
            '<a href="{}">Preview</a>', reverse("admin:codes_release_preview", args=[release.pk])
        )

    # Release rows are the importer's: no add or edit form, and every other action needs the
    # import permission, the one the flow's own views check.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Release | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Release | None = None) -> bool:
        return can_import(request)

    def has_delete_permission(self, request: HttpRequest, obj: Release | None = None) -> bool:
        return can_import(request)

    def change_view(self, request: HttpRequest, object_id: str, *args, **kwargs) -> HttpResponse:
        if not can_import(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("admin:codes_release_preview", args=[object_id]))

    def get_deleted_objects(self, objs, request: HttpRequest):
        """What the delete confirmation lists: counts, not 100,000 rows one by one."""
        deleted = []
        for release in objs:
            deleted.append(
                f"{release.label} ({release.get_status_display().lower()}, effective "
                f"{release.effective_date}): {release.entry_count:,} entries, "
                f"{release.chapter_count} chapters, {release.section_count} sections, "
                f"{release.note_count:,} notes, {release.changes.count():,} changes"
            )
        return deleted, {"releases": len(deleted)}, set(), []

    def get_actions(self, request: HttpRequest) -> dict:
        # One release at a time, from its own page: each deletion is confirmed with its counts,
        # refused while an import replaces it, and audited.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        release = self.get_object(request, object_id)
        try:
            return super().delete_view(request, object_id, extra_context)
        except ReleaseBusy as busy:
            refuse_busy(request, AuditEvent.Action.DELETE, release, busy)
            still_there = Release.objects.filter(pk=release.pk).exists()
            return HttpResponseRedirect(
                reverse("admin:codes_release_preview", args=[release.pk])
                if still_there
                else reverse("admin:codes_release_changelist")
            )

    def delete_model(self, request: HttpRequest, obj: Release) -> None:
        label, published = obj.label, obj.is_published
        obj.remove()  # the releases after it are compared again
        AuditEvent.record(
            AuditEvent.Action.DELETE,
            actor=request.user.get_username(),
            release_label=label,
            message=(
                f"{label} and all its rows were deleted"
                + (" (it was published)." if published else ".")
            ),
        )

    def get_urls(self):
        def flow(view):
            @functools.wraps(view)
            def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
                if not can_import(request):
                    raise PermissionDenied
                return view(request, self, *args, **kwargs)

            return self.admin_site.admin_view(guarded)

        return [
            path("import/", flow(importing.import_release_view), name="codes_release_import"),
            path(
                "import/<int:run_id>/",
                flow(importing.import_run_view),
                name="codes_release_import_run",
            ),
            path(
                "import/<int:run_id>/status.json",
                flow(importing.import_run_status_view),
                name="codes_release_import_run_status",
            ),
            path(
                "import/<int:run_id>/retry/",
                flow(importing.retry_import_run_view),
                name="codes_release_import_run_retry",
            ),
            path(
                "import/<int:run_id>/cancel/",
                flow(importing.cancel_import_run_view),
                name="codes_release_import_run_cancel",
            ),
            path("<int:pk>/preview/", flow(importing.preview_view), name="codes_release_preview"),
            path("<int:pk>/publish/", flow(importing.publish_view), name="codes_release_publish"),
            path(
                "<int:pk>/index/<int:index_id>/publish/",
                flow(indexes.publish_index_view),
                name="codes_release_publish_index",
            ),
            path(
                "<int:pk>/index/<int:index_id>/discard/",
                flow(indexes.discard_index_view),
                name="codes_release_discard_index",
            ),
            path(
                "<int:pk>/unpublish/",
                flow(importing.unpublish_view),
                name="codes_release_unpublish",
            ),
            *super().get_urls(),
        ]


class CappedCountPaginator(Paginator):
    """Counts at most CAP + 1 rows: a COUNT(*) of a million codes on every page is too slow.

    Past the cap the list shows "more than 10,000" and the pages up to it; a search or a
    filter narrows it down.
    """

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


# Undotted input that looks like a code or the start of one: a letter, then a digit (or QA0's A).
_CODE_PREFIX = re.compile(r"[A-Z](?:[0-9][0-9A-Z]{0,5}|[A-Z][0-9][0-9A-Z]{0,4})?")


@admin.register(Code)
class CodeAdmin(admin.ModelAdmin):
    list_display = ["dotted_code", "long_title", "is_billable", "kind", "release"]
    list_filter = ["release", "is_billable"]
    list_select_related = ["release"]
    search_fields = ["code"]  # see get_search_results: a prefix range on the undotted code
    search_help_text = (
        "A code or its start, dotted or not (z53.0, Z530); any other words search the titles."
    )
    raw_id_fields = ["release", "chapter", "section"]
    # Served by the (release, sequence) index, with or without the release filter.
    ordering = ["release_id", "sequence"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 100
    actions = None

    @admin.display(description="code", ordering="code")
    def dotted_code(self, code: Code) -> str:
        return code.dotted

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = undotted(search_term)
        if not term:
            return queryset, False
        if _CODE_PREFIX.fullmatch(term):
            return queryset.with_prefix(term), False
        return queryset.filter(long_title__icontains=search_term.strip()), False

    def has_view_permission(self, request: HttpRequest, obj: Code | None = None) -> bool:
        return super().has_view_permission(request, obj) or can_import(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Code | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Code | None = None) -> bool:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept for staff with the import permission; nobody edits it."""

    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return can_import(request)


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "__str__",
        "status",
        "progress",
        "stage",
        "created_by_name",
        "created_at",
        "finished_at",
        "release",
        "status_link",
    ]
    list_filter = ["status"]
    list_select_related = ["release"]
    exclude = ["created_by"]

    @admin.display(description="")
    def status_link(self, run: ImportRun) -> str:
        return format_html(
            '<a href="{}">Status page</a>', reverse("admin:codes_release_import_run", args=[run.pk])
        )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "actor", "release_label", "outcome", "message", "file_list"]
    list_filter = ["action", "outcome"]
    search_fields = ["release_label", "actor", "message"]
    date_hierarchy = None

    @admin.display(description="files (SHA-256)")
    def file_list(self, event: AuditEvent) -> str:
        return format_html_join(
            mark_safe("<br>"),
            "{} <code>{}</code>",
            ((f["name"], f["sha256"][:16] + "…") for f in event.files),
        )
