"""Environment clean-up shared by every benchmark entry point.

With ``trust_env=True`` (requests' default), ``REQUESTS_CA_BUNDLE`` and
``CURL_CA_BUNDLE`` replace the *session's* ``verify=`` on every request
(requests merges the environment in as a per-request setting, which wins), and
``*_PROXY`` variables could route loopback traffic elsewhere.  They are removed
from this process (and so from its children) so that the "plain requests"
competitor verifies against the benchmark CA on any machine.  requests still
scans the environment on every request, which is the cost its default-settings
row is meant to show.
"""

from __future__ import annotations

import os

_NAMES = {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}


def scrub() -> list[str]:
    """Remove the variables above; return the names removed."""
    removed = sorted(k for k in os.environ if k.upper() in _NAMES)
    for name in removed:
        del os.environ[name]
    return removed


def bytecode_cache(prefix: str) -> bool:
    """Make child interpreters cache bytecode under ``prefix`` (not in the repo).

    An environment with ``PYTHONDONTWRITEBYTECODE=1`` leaves lean_mtls (a
    source checkout) without ``.pyc`` files, so every ``import lean_mtls``
    would compile it from source while requests, installed by pip, has its
    ``.pyc`` files: an unfair start-up comparison, and not what a deployed
    package does.  ``PYTHONPYCACHEPREFIX`` sends every cached file (of all
    packages alike) to a temporary tree, so nothing is written next to the
    sources.  Returns whether ``PYTHONDONTWRITEBYTECODE`` was set.
    """
    was_set = bool(os.environ.pop("PYTHONDONTWRITEBYTECODE", ""))
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    return was_set
