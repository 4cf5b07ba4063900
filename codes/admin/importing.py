"""The admin's import flow: upload -> background import -> status -> preview -> publish.

Plain function views, each reached through ReleaseAdmin.get_urls() behind the admin login and
the codes.import_release permission. They read and write only ImportRun, AuditEvent and the
Release status; release rows are written by the importer alone, in the background task.
"""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.views.decorators.http import require_POST

from codes.admin.forms import ImportReleaseForm, human_size
from codes.admin.indexes import index_summaries
from codes.admin.refusals import refuse_busy
from codes.icd10 import dotted, undotted
from codes.importer.diff import REVISED, SHORT_TITLE_ONLY, SPACING_ONLY, TALLY_KINDS
from codes.models import (
    AuditEvent,
    CodeChange,
    ImportInProgress,
    ImportRun,
    Release,
    ReleaseBusy,
)
from codes.tasks import run_import

# A queued run nobody picked up after this long probably has no worker to run it.
NO_WORKER_HINT_AFTER = datetime.timedelta(seconds=20)
CHANGES_PER_PAGE = 50


def _context(request: HttpRequest, model_admin: ModelAdmin, title: str, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": Release._meta,
        "title": title,
        **extra,
    }


def import_release_view(request: HttpRequest, model_admin: ModelAdmin) -> HttpResponse:
    if request.method != "POST":
        form = ImportReleaseForm()
    else:
        form = ImportReleaseForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                run = ImportRun.objects.start(
                    uploads=form.uploads,
                    fiscal_year=form.release_fiscal_year,
                    effective_date=form.release_effective_date,
                    label=form.release_label,
                    user=request.user,
                    index_only=form.index_for is not None,
                    poa_only=form.poa_for is not None,
                    index_of_another_year=bool(form.cleaned_data.get("index_of_another_year")),
                )
            except ImportInProgress as busy:
                form.add_error(None, f"Refused, nothing was stored: {busy}.")
            else:
                AuditEvent.record(
                    AuditEvent.Action.UPLOAD,
                    actor=request.user.get_username(),
                    message=f"Queued as import #{run.pk}.",
                    release_label=run.label,
                    import_run=run,
                )
                _enqueue(run)
                return redirect("admin:codes_release_import_run", run.pk)
        if request.FILES:
            AuditEvent.record(
                AuditEvent.Action.UPLOAD,
                actor=request.user.get_username(),
                outcome=AuditEvent.Outcome.REFUSED,
                message=strip_tags(" ".join(e for errors in form.errors.values() for e in errors)),
                files=form.file_summary(),
            )
    return TemplateResponse(
        request,
        "admin/codes/release/import_form.html",
        _context(
            request,
            model_admin,
            "Import a release",
            form=form,
            active_runs=ImportRun.objects.active(),
            max_file_size=human_size(settings.IMPORT_MAX_FILE_SIZE),
        ),
    )


def _enqueue(run: ImportRun) -> None:
    try:
        run_import.enqueue(run.pk)
    except Exception as error:
        run.fail(f"Could not queue the import: {type(error).__name__}: {error}")
        run.delete_files()


def import_run_view(request: HttpRequest, model_admin: ModelAdmin, run_id: int) -> HttpResponse:
    ImportRun.objects.fail_stale()
    run = get_object_or_404(ImportRun.objects.select_related("release"), pk=run_id)
    return TemplateResponse(
        request,
        "admin/codes/release/import_run.html",
        _context(
            request,
            model_admin,
            f"Import #{run.pk}: {run.label}",
            run=run,
            status=_status(run),
            files=[{**f, "size_display": human_size(f["size"])} for f in run.files],
        ),
    )


def import_run_status_view(
    request: HttpRequest, model_admin: ModelAdmin, run_id: int
) -> JsonResponse:
    ImportRun.objects.fail_stale()
    run = get_object_or_404(ImportRun, pk=run_id)
    return JsonResponse(_status(run))


def _status(run: ImportRun) -> dict:
    waiting = run.status == ImportRun.Status.QUEUED and (
        timezone.now() - run.created_at > NO_WORKER_HINT_AFTER
    )
    return {
        "id": run.pk,
        "status": run.status,
        "status_display": run.get_status_display(),
        "stage": run.stage,
        "progress": run.progress,
        "messages": run.messages,
        "finished": run.is_finished,
        "no_worker_yet": waiting,
        "can_retry": run.can_retry,
        "preview_url": (
            reverse("admin:codes_release_preview", args=[run.release_id])
            if run.release_id and run.status == ImportRun.Status.SUCCEEDED
            else None
        ),
    }


@require_POST
def retry_import_run_view(
    request: HttpRequest, model_admin: ModelAdmin, run_id: int
) -> HttpResponse:
    ImportRun.objects.fail_stale()
    run = get_object_or_404(ImportRun, pk=run_id)
    if not run.can_retry:
        messages.error(request, f"Import #{run.pk} cannot be retried: its files are gone.")
        return redirect("admin:codes_release_import_run", run.pk)
    try:
        retry = run.retry(user=request.user)
    except ImportInProgress as busy:
        messages.error(request, f"Not retried: {busy}.")
        return redirect("admin:codes_release_import_run", run.pk)
    AuditEvent.record(
        AuditEvent.Action.RETRY,
        actor=request.user.get_username(),
        message=f"Import #{run.pk} retried as import #{retry.pk}.",
        release_label=retry.label,
        import_run=retry,
    )
    _enqueue(retry)
    return redirect("admin:codes_release_import_run", retry.pk)


@require_POST
def cancel_import_run_view(
    request: HttpRequest, model_admin: ModelAdmin, run_id: int
) -> HttpResponse:
    run = get_object_or_404(ImportRun, pk=run_id)
    actor = request.user.get_username()
    if run.cancel(by=actor):
        AuditEvent.record(
            AuditEvent.Action.CANCEL,
            actor=actor,
            message=run.messages[-1],
            release_label=run.label,
            import_run=run,
        )
    else:
        messages.error(request, f"Import #{run.pk} had already started; it was not cancelled.")
    return redirect("admin:codes_release_import_run", run.pk)


def preview_view(request: HttpRequest, model_admin: ModelAdmin, pk: int) -> HttpResponse:
    release = get_object_or_404(Release.objects.select_related("compared_to"), pk=pk)
    previous = release.compared_to
    summary = release.change_summary()
    addenda = release.report.get("addenda")
    comparison = release.addenda_comparison()
    change = request.GET.get("change", CodeChange.Change.ADDED)
    if change not in CodeChange.Change.values:
        change = CodeChange.Change.ADDED
    tally = "headers" if request.GET.get("tally") == "headers" else "codes"
    query = request.GET.get("q", "").strip()
    changes = release.changes.filter(change=change, is_billable=tally == "codes")
    if query:
        changes = changes.filter(
            Q(code__startswith=undotted(query))
            | Q(new_long_title__icontains=query)
            | Q(old_long_title__icontains=query)
        )
    page = Paginator(changes.order_by("code"), CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "admin/codes/release/preview.html",
        _context(
            request,
            model_admin,
            f"Preview of {release.label}",
            release=release,
            previous=previous,
            counts=_counts(release, previous),
            summary_rows=_summary_rows(summary, addenda),
            addenda=addenda,
            agrees=comparison.agrees if comparison else None,
            comparison=comparison,
            checks=release.report.get("checks", []),
            warnings=release.report.get("warnings", []),
            unplaced=release.report.get("unplaced", []),
            anomalies=release.report.get("anomalies", []),
            structure=release.report.get("structure", ""),
            source_files=[
                {"name": f.name, "sha256": f.sha256, "size": human_size(f.size)}
                for f in release.source_files.order_by("pk")
            ],
            change=change,
            tally=tally,
            query=query,
            page=page,
            rows=[
                {
                    "code": dotted(c.code),
                    "old": c.old_long_title,
                    "new": c.new_long_title,
                }
                for c in page.object_list
            ],
            tabs=[
                {
                    "change": name,
                    "tally": kind,
                    # The list shows every revision, whichever tally counts it.
                    "count": summary[kind][name]
                    + (
                        summary[kind][SHORT_TITLE_ONLY] + summary[kind][SPACING_ONLY]
                        if name == CodeChange.Change.REVISED
                        else 0
                    ),
                    "active": (name, kind) == (change, tally),
                }
                for kind in ("codes", "headers")
                for name in CodeChange.Change.values
            ],
            import_run=release.import_runs.order_by("-pk").first(),
            index_summaries=index_summaries(release),
        ),
    )


def _counts(release: Release, previous: Release | None) -> list[dict]:
    fields = [
        ("entries", "entry_count"),
        ("billable codes", "billable_count"),
        ("headers", "header_count"),
        ("chapters", "chapter_count"),
        ("sections", "section_count"),
        ("notes", "note_count"),
    ]
    rows = []
    for name, field in fields:
        value = getattr(release, field)
        before = getattr(previous, field) if previous else None
        rows.append(
            {
                "name": name,
                "value": value,
                "previous": before,
                "difference": None if before is None else value - before,
            }
        )
    return rows


def _summary_rows(summary: dict, addenda: dict | None) -> list[dict]:
    rows = []
    for tally in ("codes", "headers"):
        for change in TALLY_KINDS:
            computed = summary[tally][change]
            expected = addenda[tally].get(change) if addenda else None
            rows.append(
                {
                    "tally": "billable codes" if tally == "codes" else "headers",
                    "change": change.replace("_", " "),
                    "computed": computed,
                    "addenda": expected,
                    # CMS's revisions may hold some tallied apart here: compared code by code.
                    "agrees": None
                    if expected is None or change == REVISED
                    else expected == computed,
                }
            )
    return rows


def publish_view(request: HttpRequest, model_admin: ModelAdmin, pk: int) -> HttpResponse:
    return _switch(request, model_admin, pk, publish=True)


def unpublish_view(request: HttpRequest, model_admin: ModelAdmin, pk: int) -> HttpResponse:
    return _switch(request, model_admin, pk, publish=False)


def _switch(request: HttpRequest, model_admin: ModelAdmin, pk: int, *, publish: bool):
    release = get_object_or_404(Release, pk=pk)
    verb = "publish" if publish else "unpublish"
    if request.method == "POST":
        action = AuditEvent.Action.PUBLISH if publish else AuditEvent.Action.UNPUBLISH
        if release.is_published == publish:
            messages.info(request, f"{release.label} was already {verb}ed.")
            return redirect("admin:codes_release_preview", release.pk)
        try:
            release.publish() if publish else release.unpublish()
        except ReleaseBusy as busy:
            refuse_busy(request, action, release, busy)
        else:
            AuditEvent.record(
                action,
                actor=request.user.get_username(),
                release=release,
                message=(
                    f"{release.label} is now public."
                    if publish
                    else f"{release.label} is a draft again; its data is kept."
                ),
            )
            messages.success(
                request,
                f"{release.label} is published: the public pages and the API show it now."
                if publish
                else f"{release.label} is unpublished: back to draft, nothing was deleted.",
            )
        return redirect("admin:codes_release_preview", release.pk)
    problems = [c["detail"] for c in release.report.get("checks", []) if not c["ok"]]
    if release.addenda_agrees() is False:
        problems.append("the computed changes disagree with the CMS order addenda")
    return TemplateResponse(
        request,
        "admin/codes/release/confirm_switch.html",
        _context(
            request,
            model_admin,
            f"{verb.capitalize()} {release.label}?",
            release=release,
            publish=publish,
            verb=verb,
            problems=problems,
        ),
    )
