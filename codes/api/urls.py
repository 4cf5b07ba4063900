"""/api/v1/: releases, codes, search, autocomplete, validation, changes and downloads."""

from django.urls import path, re_path

from codes.api import index_views, views

app_name = "api"

urlpatterns = [
    # Lookups first: URLs are tried in order, and they are most of the traffic.
    path("codes/", views.CodeListView.as_view(), name="code-list"),
    path("codes/<str:code>/", views.CodeDetailView.as_view(), name="code-detail"),
    path("codes/<str:code>/history/", views.CodeHistoryView.as_view(), name="code-history"),
    path(
        "codes/<str:code>/index/",
        index_views.CodeIndexEntriesView.as_view(),
        name="code-index-entries",
    ),
    path("autocomplete/", views.AutocompleteView.as_view(), name="autocomplete"),
    path("validate/", views.ValidateView.as_view(), name="validate"),
    path("index/", index_views.IndexSearchView.as_view(), name="index-search"),
    path(
        "index/<str:part>/<int:term_id>/",
        index_views.IndexTermView.as_view(),
        name="index-term",
    ),
    path("releases/", views.ReleaseListView.as_view(), name="release-list"),
    path("releases/<str:label>/", views.ReleaseDetailView.as_view(), name="release-detail"),
    path(
        "releases/<str:label>/changes/",
        views.ReleaseChangesView.as_view(),
        name="release-changes",
    ),
    path(
        "releases/<str:label>/changes.csv",
        views.ReleaseChangesCSVView.as_view(),
        name="release-changes-csv",
    ),
    path(
        "releases/<str:label>/download.csv",
        views.ReleaseDownloadCSVView.as_view(),
        name="release-download-csv",
    ),
    path(
        "releases/<str:label>/download.json",
        views.ReleaseDownloadJSONView.as_view(),
        name="release-download-json",
    ),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not-found"),
]
