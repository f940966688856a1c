"""``python -m lean_mtls``: the ``lean-mtls`` command line (see :mod:`lean_mtls.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
