from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class CodesConfig(AppConfig):
    name = "codes"
    verbose_name = "ICD-10-CM code sets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from codes.models import Release
        from codes.selection import forget_published_releases

        # A release saved or deleted (an import, the admin, remove()) may change which are
        # published; publish() and unpublish() update in bulk and say so themselves.
        post_save.connect(forget_published_releases, sender=Release)
        post_delete.connect(forget_published_releases, sender=Release)
