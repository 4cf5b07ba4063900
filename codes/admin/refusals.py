"""What the admin says, and audits, when it refuses to act on a release an import is replacing."""

from django.contrib import messages
from django.http import HttpRequest

from codes.models import AuditEvent, Release, ReleaseBusy


def refuse_busy(request: HttpRequest, action: str, release: Release, busy: ReleaseBusy) -> None:
    """Say why nothing was done to a release an import is replacing, and audit the refusal."""
    messages.error(request, str(busy))
    AuditEvent.record(
        action,
        actor=request.user.get_username(),
        outcome=AuditEvent.Outcome.REFUSED,
        release=release if Release.objects.filter(pk=release.pk).exists() else None,
        release_label=release.label,
        message=str(busy),
    )
