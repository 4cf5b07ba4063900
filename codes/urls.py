"""The public site's pages (codes.views); the API is under /api/ (codes.api)."""

from django.urls import path

from codes.views import browse, code, releases, search

app_name = "codes"

urlpatterns = [
    path("", browse.home, name="home"),
    path("codes/<str:code>/", code.code_page, name="code"),
    path("search/", search.search_page, name="search"),
    path("search/suggest/", search.suggest, name="suggest"),
    path("chapters/", browse.chapter_list, name="chapters"),
    path("chapters/<int:number>/", browse.chapter_page, name="chapter"),
    path("sections/<str:section_id>/", browse.section_page, name="section"),
    path("releases/", releases.release_list, name="releases"),
    path("releases/<str:label>/", releases.release_changes, name="release"),
    path("releases/<str:label>/changes.csv", releases.release_changes_csv, name="release_csv"),
]
