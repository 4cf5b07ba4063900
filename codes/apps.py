from django.apps import AppConfig


class CodesConfig(AppConfig):
    name = "codes"
    verbose_name = "ICD-10-CM code sets"
    default_auto_field = "django.db.models.BigAutoField"
