"""Settings of the lean-mtls Django sample.

How to run against the local Lean emulator, FakeLean (no Lean account, no network):

    python -m pip install '.[testing]' django
    cd samples/django && LEAN_FAKE=1 python manage.py runserver --noreload

``LEAN`` holds the keyword arguments of ``lean_mtls.LeanSession``; by default
they come from the ``LEAN_*`` environment variables.  The one shared session
is built lazily, on first use, by ``banking.lean.get_session()``.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A sample: a real project takes its secret key from the environment or a vault.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "lean-mtls-sample-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = ["banking.apps.BankingConfig"]
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "leansite.urls"
WSGI_APPLICATION = None
DATABASES: dict[str, dict[str, str]] = {}  # the sample keeps no data of its own
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --------------------------------------------------------------------------- Lean

#: Keyword arguments of LeanSession (see the lean-mtls README).  Paths or PEM text.
LEAN = {
    name: value
    for name, value in {
        "app_token": os.environ.get("LEAN_APP_TOKEN"),
        "cert": os.environ.get("LEAN_CERT"),
        "key": os.environ.get("LEAN_KEY"),
        "ca": os.environ.get("LEAN_CA"),
        "key_password": os.environ.get("LEAN_KEY_PASSWORD"),
        "environment": os.environ.get("LEAN_ENVIRONMENT"),
        "region": os.environ.get("LEAN_REGION"),
        "base_url": os.environ.get("LEAN_BASE_URL"),
    }.items()
    if value
}
#: Start the local emulator (lean_mtls.testing.FakeLean) instead of calling Lean.
LEAN_FAKE = os.environ.get("LEAN_FAKE") == "1"
#: The app's webhook secret (Lean dashboard -> Development -> Integration settings).
LEAN_WEBHOOK_SECRET = os.environ.get("LEAN_WEBHOOK_SECRET", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "lean_mtls": {"handlers": ["console"], "level": "INFO"},
        "banking": {"handlers": ["console"], "level": "INFO"},
    },
}
