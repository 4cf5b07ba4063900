"""Home and browsing: /chapters/ -> chapter -> section -> its categories -> a code's tree."""

from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse

from codes.codeset import codeset_for
from codes.models import Chapter, Code, Note, Section
from codes.notes_elsewhere import notes_source
from codes.views.common import get_site_with_release, release_page, render_page


@release_page()
def home(request: HttpRequest) -> HttpResponse:
    site = get_site_with_release(request)
    release = site.release
    return render_page(
        request,
        "codes/home.html",
        site,
        {
            "summary": release.change_summary() if release.compared_to_id else None,
            "chapters": list(Chapter.objects.filter(release=release)),
        },
    )


@release_page()
def chapter_list(request: HttpRequest) -> HttpResponse:
    site = get_site_with_release(request)
    chapters = Chapter.objects.filter(release=site.release).annotate(
        section_total=Count("sections")
    )
    return render_page(request, "codes/chapters.html", site, {"chapters": list(chapters)})


@release_page()
def chapter_page(request: HttpRequest, number: int) -> HttpResponse:
    site = get_site_with_release(request)
    release = site.release
    chapter = Chapter.objects.filter(release=release, number=number).first()
    if chapter is None:
        raise Http404(f"{release.label} has no chapter {number}.")
    categories = dict(
        Code.objects.filter(release=release, chapter=chapter, depth=0)
        .values_list("section_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    sections = list(Section.objects.filter(chapter=chapter))
    for section in sections:
        section.category_total = categories.get(section.pk, 0)
    return render_page(
        request,
        "codes/chapter.html",
        site,
        {
            "chapter": chapter,
            "sections": sections,
            "section_tree": _nested(sections),
            "notes": list(Note.objects.filter(release=release, chapter=chapter)),
            "notes_source": notes_source(release, chapter=chapter.number),
        },
    )


@release_page()
def section_page(request: HttpRequest, section_id: str) -> HttpResponse:
    site = get_site_with_release(request)
    release = site.release
    section = (
        Section.objects.filter(release=release, section_id=section_id.upper())
        .select_related("chapter")
        .first()
        if "\x00" not in section_id  # PostgreSQL refuses NUL in text
        else None
    )
    if section is None:
        raise Http404(f"{release.label} has no section {section_id}.")
    in_chapter = {s.pk: s for s in Section.objects.filter(chapter_id=section.chapter_id)}
    headings = []  # the heading sections that hold this one, outermost first
    holder = in_chapter[section.pk].parent_id
    while holder is not None:
        headings.insert(0, in_chapter[holder])
        holder = in_chapter[holder].parent_id
    subsections = [s for s in in_chapter.values() if s.parent_id == section.pk]
    codeset = codeset_for(release)
    categories = list(Code.objects.filter(release=release, section=section, depth=0))
    for category in categories:
        below = codeset.descendants(category.code)
        category.total_below = len(below)
        category.billable_below = sum(1 for entry in below if entry.is_billable)
    return render_page(
        request,
        "codes/section.html",
        site,
        {
            "section": section,
            "chapter": section.chapter,
            "headings": headings,
            "subsections": subsections,
            "categories": categories,
            "notes": list(Note.objects.filter(release=release, section=section)),
            "notes_source": notes_source(release, section_id=section.section_id),
        },
    )


def _nested(sections: list[Section]) -> list[Section]:
    """The sections at the top of a chapter, each with `.listed_subsections` (file order): the
    XML lists them flat, each heading before the sections its range holds."""
    by_pk = {section.pk: section for section in sections}
    top = []
    for section in sections:
        section.listed_subsections = []
        if section.parent_id in by_pk:
            by_pk[section.parent_id].listed_subsections.append(section)
        else:
            top.append(section)
    return top
