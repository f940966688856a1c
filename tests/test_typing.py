"""Issue 12 item 8: strict type checking of user code passes.

``mypy --strict`` on the samples (Django with django-stubs, Flask passing
``request.headers`` to ``webhooks.verify_request``) and on a small user script
that uses every public entry point (tests/typecheck/user_script.py), which
also runs against the emulator.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_passes_on_the_samples_and_a_user_script() -> None:
    pytest.importorskip("mypy", reason="the test extra installs mypy")
    pytest.importorskip("django_stubs_ext", reason="the test extra installs django-stubs")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "samples", "tests/typecheck"],
        cwd=ROOT, capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_the_user_script_runs() -> None:
    pytest.importorskip("trustme")
    pytest.importorskip("flask")
    pytest.importorskip("django")
    result = subprocess.run([sys.executable, "tests/typecheck/user_script.py"], cwd=ROOT, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
