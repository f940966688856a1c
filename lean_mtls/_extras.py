"""How to install an optional extra, said once.

lean-mtls is not on PyPI (see the README), so a hint to install ``lean-mtls[x]`` from PyPI
would fail, or install whatever someone registered under that name
(dependency confusion).  Every "missing optional package" message names the
package itself (which is on PyPI) and the extra from the user's own clone or
wheel.
"""

from __future__ import annotations

__all__ = ["EXTRAS", "install_hint"]

#: Extra -> the PyPI packages it installs (kept in step with setup.cfg's extras_require).
EXTRAS = {"testing": "trustme", "pandas": "pandas"}


def install_hint(extra: str) -> str:
    """``"install trustme (python -m pip install trustme), or reinstall ..."`` for ``extra``."""
    package = EXTRAS[extra]
    return (
        f"install {package} (python -m pip install {package}), or reinstall lean-mtls with the "
        f"[{extra}] extra from your clone or wheel: python -m pip install '/path/to/lean-mtls[{extra}]' "
        f"(lean-mtls is not on PyPI)"
    )
