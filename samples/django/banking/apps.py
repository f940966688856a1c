"""App config.  The Lean session is *not* built here: ``banking.lean`` builds it
lazily on first use, so ``manage.py`` commands that never call Lean (migrate,
check, shell) do not need certificates."""

from __future__ import annotations

from django.apps import AppConfig


class BankingConfig(AppConfig):
    name = "banking"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import lean  # noqa: F401 - connects the setting_changed handler
