"""The admin's Alphabetic Index steps: what the preview shows of a release's Index (and of a
draft Index waiting beside a published release), and publishing or discarding that draft.

Plain function views behind the admin login and the codes.import_release permission, like the
rest of the import flow (codes.admin.importing); Index rows are written by the importer alone.
"""

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse

from codes.admin.refusals import refuse_busy
from codes.importer.index_data import REPORTED_STATUSES
from codes.importer.index_xml import PARTS
from codes.models import AuditEvent, IndexCodeReference, Release, ReleaseBusy, ReleaseIndex


def index_summaries(release: Release) -> list[dict]:
    """The release's Index, then any draft Index, each part by part as the import reported it."""
    shown = []
    indexes = list(release.indexes.order_by("-imported_at", "-pk"))
    for index in sorted(indexes, key=lambda i: i.pk != release.index_id):
        parts = []
        for part in PARTS:
            report = index.report.get(part)
            if report is None:
                continue
            parts.append(
                {
                    "part": part,
                    "report": report,
                    "problems": [
                        {
                            "status": IndexCodeReference.Status(status).label,
                            "count": report["codes"].get(status, 0),
                            "examples": report.get("code_examples", {}).get(status, []),
                        }
                        for status in REPORTED_STATUSES
                        if report["codes"].get(status)
                    ],
                }
            )
        shown.append(
            {
                "index": index,
                "current": index.pk == release.index_id,
                "parts": parts,
                "missing": [part for part in PARTS if part not in index.report],
                "other_years": sorted(
                    {p["report"]["version"] for p in parts} - {str(release.fiscal_year)}
                ),
            }
        )
    return shown


def _refused_while_importing(request: HttpRequest, action: str, release: Release) -> bool:
    """True, said and audited, when an import into the release is queued or running: it may
    be replacing the very Index to publish or discard."""
    try:
        release.refuse_if_busy()
    except ReleaseBusy as busy:
        refuse_busy(request, action, release, busy)
        return True
    return False


def publish_index_view(
    request: HttpRequest, model_admin: ModelAdmin, pk: int, index_id: int
) -> HttpResponse:
    release = get_object_or_404(Release, pk=pk)
    index = get_object_or_404(ReleaseIndex, pk=index_id, release=release)
    if request.method == "POST":
        if index.is_current:
            messages.info(request, f"That Index is already the one {release.label} shows.")
        elif _refused_while_importing(request, AuditEvent.Action.PUBLISH_INDEX, release):
            pass
        else:
            replaced = index.publish()
            message = f"The Index imported {_when(index)} is now the Index of {release.label}"
            if replaced is not None:
                message += f"; it replaced the Index imported {_when(replaced)}, now deleted."
            else:
                message += "."
            AuditEvent.record(
                AuditEvent.Action.PUBLISH_INDEX,
                actor=request.user.get_username(),
                release=release,
                message=message,
                files=index.report.get("files", []),
            )
            messages.success(
                request,
                message
                + (" The public pages and the API show it now." if release.is_published else ""),
            )
        return redirect("admin:codes_release_preview", release.pk)
    return _confirm(request, model_admin, release, index, publish=True)


def discard_index_view(
    request: HttpRequest, model_admin: ModelAdmin, pk: int, index_id: int
) -> HttpResponse:
    release = get_object_or_404(Release, pk=pk)
    index = get_object_or_404(ReleaseIndex, pk=index_id, release=release)
    if index.is_current:
        messages.error(
            request,
            "That Index is the one the release shows; import another and publish it to replace it.",
        )
        return redirect("admin:codes_release_preview", release.pk)
    if request.method == "POST":
        if _refused_while_importing(request, AuditEvent.Action.DISCARD_INDEX, release):
            return redirect("admin:codes_release_preview", release.pk)
        message = f"The draft Index imported {_when(index)} for {release.label} was discarded."
        files = index.report.get("files", [])
        index.remove()
        AuditEvent.record(
            AuditEvent.Action.DISCARD_INDEX,
            actor=request.user.get_username(),
            release=release,
            message=message,
            files=files,
        )
        messages.success(request, message)
        return redirect("admin:codes_release_preview", release.pk)
    return _confirm(request, model_admin, release, index, publish=False)


def _confirm(request, model_admin, release: Release, index: ReleaseIndex, *, publish: bool):
    verb = "publish" if publish else "discard"
    summary = next(s for s in index_summaries(release) if s["index"].pk == index.pk)
    return TemplateResponse(
        request,
        "admin/codes/release/confirm_index.html",
        {
            **model_admin.admin_site.each_context(request),
            "opts": Release._meta,
            "title": f"{verb.capitalize()} this Index of {release.label}?",
            "release": release,
            "summary": summary,
            "publish": publish,
            "verb": verb,
        },
    )


def _when(index: ReleaseIndex) -> str:
    return f"{index.imported_at:%Y-%m-%d %H:%M:%S} UTC"
