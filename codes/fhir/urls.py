"""/fhir/: metadata and $versions; CodeSystem, ValueSet and ConceptMap search, read and their
operations, on the type and on one resource."""

from django.urls import path, re_path, register_converter

from codes.fhir import codesystem_views, conceptmap_views, valueset_views, views


class ResourceId:
    """A FHIR id (http://hl7.org/fhir/datatypes.html#id): never an operation ($lookup)."""

    regex = r"[A-Za-z0-9\-\.]{1,64}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ResourceId, "fhirid")

app_name = "fhir"

urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("$versions", views.VersionsView.as_view(), name="versions"),
    path("CodeSystem", codesystem_views.CodeSystemSearchView.as_view(), name="codesystem-search"),
    path("CodeSystem/$lookup", codesystem_views.LookupView.as_view(), name="lookup"),
    path(
        "CodeSystem/$validate-code",
        codesystem_views.ValidateCodeView.as_view(),
        name="validate-code",
    ),
    path("CodeSystem/$subsumes", codesystem_views.SubsumesView.as_view(), name="subsumes"),
    path(
        "CodeSystem/<fhirid:resource_id>",
        codesystem_views.CodeSystemReadView.as_view(),
        name="codesystem-read",
    ),
    path(
        "CodeSystem/<fhirid:resource_id>/$lookup",
        views.on_one_resource(codesystem_views.LookupView, "fhir_codesystem_lookup").as_view(),
        name="codesystem-lookup",
    ),
    path(
        "CodeSystem/<fhirid:resource_id>/$validate-code",
        views.on_one_resource(
            codesystem_views.ValidateCodeView, "fhir_codesystem_validate_code"
        ).as_view(),
        name="codesystem-validate-code",
    ),
    path(
        "CodeSystem/<fhirid:resource_id>/$subsumes",
        views.on_one_resource(codesystem_views.SubsumesView, "fhir_codesystem_subsumes").as_view(),
        name="codesystem-subsumes",
    ),
    path("ValueSet", valueset_views.ValueSetSearchView.as_view(), name="valueset-search"),
    path("ValueSet/$expand", valueset_views.ExpandView.as_view(), name="expand"),
    path(
        "ValueSet/$validate-code",
        valueset_views.ValueSetValidateCodeView.as_view(),
        name="valueset-validate-code",
    ),
    path(
        "ValueSet/<fhirid:resource_id>",
        valueset_views.ValueSetReadView.as_view(),
        name="valueset-read",
    ),
    path(
        "ValueSet/<fhirid:resource_id>/$expand",
        views.on_one_resource(valueset_views.ExpandView, "fhir_valueset_expand").as_view(),
        name="valueset-expand",
    ),
    path(
        "ValueSet/<fhirid:resource_id>/$validate-code",
        views.on_one_resource(
            valueset_views.ValueSetValidateCodeView, "fhir_valueset_validate_code"
        ).as_view(),
        name="valueset-instance-validate-code",
    ),
    path("ConceptMap", conceptmap_views.ConceptMapSearchView.as_view(), name="conceptmap-search"),
    path("ConceptMap/$translate", conceptmap_views.TranslateView.as_view(), name="translate"),
    path(
        "ConceptMap/<fhirid:resource_id>",
        conceptmap_views.ConceptMapReadView.as_view(),
        name="conceptmap-read",
    ),
    path(
        "ConceptMap/<fhirid:resource_id>/$translate",
        views.on_one_resource(
            conceptmap_views.TranslateView, "fhir_conceptmap_translate"
        ).as_view(),
        name="conceptmap-translate",
    ),
    # Another operation of a type served here: not-supported; anything else: not found.
    re_path(
        r"^(?P<resource_type>CodeSystem|ValueSet|ConceptMap)/(?:[^/]+/)?\$(?P<operation>[^/]+)$",
        views.NotSupportedView.as_view(),
        name="not-supported",
    ),
    re_path(r"^[\s\S]*$", views.NotFoundView.as_view(), name="not-found"),  # newlines too
]
