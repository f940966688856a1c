#!/usr/bin/env python
"""Django's command-line utility for the lean-mtls sample project.

Run it against the local Lean emulator (no Lean account, no network):

    python -m pip install '.[testing]' django
    cd samples/django
    LEAN_FAKE=1 python manage.py runserver --noreload
    curl http://127.0.0.1:8000/customers/<customer_id>/accounts   # the seeded id is logged on first use

Against Lean itself, set LEAN_APP_TOKEN, LEAN_CERT, LEAN_KEY, LEAN_CA (and
LEAN_ENVIRONMENT, LEAN_WEBHOOK_SECRET) instead of LEAN_FAKE.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leansite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
