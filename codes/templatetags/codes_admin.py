"""What the admin's index puts first: a fiscal year in force whose release is not loaded."""

from django import template

from codes.currency import missing_release_today
from codes.models import Release
from codes.selection import published_releases

register = template.Library()


@register.simple_tag
def release_to_load() -> dict | None:
    """The missing release, and whether a draft of it is already imported (then the thing to
    do is to review and publish it, not to import it)."""
    missing = missing_release_today(published_releases())
    if missing is None:
        return None
    drafts = Release.objects.filter(
        fiscal_year=missing.fiscal_year, status=Release.Status.DRAFT
    ).order_by("-effective_date")
    return {"missing": missing, "draft": drafts.first()}
