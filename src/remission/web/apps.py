"""Django application config of remission web."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "remission.web"
    label = "web"
    verbose_name = "remission web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from remission.web import models  # noqa: F401  (history guards are connected there)
