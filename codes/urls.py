"""The public site's pages (codes.views); the API is under /api/ (codes.api)."""

from django.urls import path as django_path
from django.views.decorators.http import require_safe

from codes.views import browse, code, index, releases, search

app_name = "codes"


def path(route: str, view, *, name: str):
    """A public page: GET and HEAD; anything else (OPTIONS, TRACE, POST) is 405 with Allow."""
    return django_path(route, require_safe(view), name=name)


urlpatterns = [
    path("", browse.home, name="home"),
    path("codes/<str:code>/", code.code_page, name="code"),
    path("codes/<str:code>", code.code_page_without_slash, name="code_without_slash"),
    path("codes/<str:code>/index/", index.code_index_entries, name="code_index_entries"),
    path("search/", search.search_page, name="search"),
    path("search/suggest/", search.suggest, name="suggest"),
    path("chapters/", browse.chapter_list, name="chapters"),
    path("chapters/<int:number>/", browse.chapter_page, name="chapter"),
    path("sections/<str:section_id>/", browse.section_page, name="section"),
    path("index/", index.index_home, name="index"),
    path("index/<str:part>/", index.index_part, name="index_part"),
    path("index/<str:part>/<str:letter>/", index.index_letter, name="index_letter"),
    path("index/<str:part>/<str:letter>/<str:slug>/", index.index_term, name="index_term"),
    path("releases/", releases.release_list, name="releases"),
    path("releases/<str:label>/", releases.release_changes, name="release"),
    path("releases/<str:label>/changes.csv", releases.release_changes_csv, name="release_csv"),
]
