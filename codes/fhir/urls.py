"""/fhir/: metadata, CodeSystem search and read, $lookup and $validate-code."""

from django.urls import path, re_path

from codes.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("CodeSystem", views.CodeSystemSearchView.as_view(), name="codesystem-search"),
    path("CodeSystem/$lookup", views.LookupView.as_view(), name="lookup"),
    path("CodeSystem/$validate-code", views.ValidateCodeView.as_view(), name="validate-code"),
    path(
        "CodeSystem/<str:resource_id>",
        views.CodeSystemReadView.as_view(),
        name="codesystem-read",
    ),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not-found"),
]
