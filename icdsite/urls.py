from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from icdsite.health import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("codes.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("health/", health, name="health"),
    path("fhir/", include("codes.fhir.urls")),
    # The public lookup site, at the root (codes.urls).
    path("", include("codes.urls")),
]
