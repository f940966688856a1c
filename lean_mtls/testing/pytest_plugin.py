"""pytest plugin: test your app against a local Lean over real mutual TLS.

Installed with the ``[testing]`` extra (``pip install '/path/to/lean-mtls[testing]'``), the plugin is registered
through the ``pytest11`` entry point (name ``lean_mtls``), so the fixtures below
are available in every test without an import or a ``conftest.py`` line.  Only
where that entry point is not installed (a source checkout on ``PYTHONPATH``)
load it yourself, with ``pytest -p lean_mtls.testing.pytest_plugin`` or
``pytest_plugins = ["lean_mtls.testing.pytest_plugin"]`` in the top-level
``conftest.py``; doing so *as well as* the entry point makes pytest refuse to
register the module twice ("Plugin already registered under a different
name").  ``-p no:lean_mtls`` turns the plugin off.

Importing the plugin starts nothing and does not import ``trustme``: the
emulator (and its certificates) are made the first time a test asks for a
fixture.

Fixtures
--------

``lean_server`` (function scope, one server for the whole session)
    A running :class:`~lean_mtls.testing.FakeLean`: an HTTPS server on
    ``127.0.0.1`` that demands a client certificate, with seeded data
    (``lean_server.customer_id``, ``.entity_id``, ``.account_ids``), the
    certificate files (``.cert_file``, ``.key_file``, ``.ca_file``), test
    controls (``.set_data_status("PENDING")``, ``.fail_next(429,
    retry_after=1)``, ``.send_webhook(url, "payment.created", {...})``) and
    what it received (``.requests``).  The server (and its certificates) is
    started once per test session and stopped (its temporary key removed) at
    the end, but **every test starts from the seeded state**: before each test
    the fixture calls :meth:`~lean_mtls.testing.FakeLean.reset`, so customers,
    payments, refreshes and tokens created by one test, and failures queued
    with ``fail_next``/``set_data_status`` and not consumed, are gone in the
    next; new ids repeat from the seed, so a test sees the same ids whatever
    ran before it.  ``.requests`` and ``.handshake_errors`` start empty in every
    test too (the reset clears them), so ``lean_server.requests[0]`` is the
    test's own first request.

``lean_server_persistent`` (session scope)
    A separate ``FakeLean`` (same ``lean_server_options``, so the same seeded
    ids) that is **never reset**: what one test creates is there in the next.
    For suites that build state step by step across tests; call
    ``lean_server_persistent.reset()`` yourself where you want a clean start.

``lean_session`` (function scope)
    A :class:`~lean_mtls.LeanSession` connected to ``lean_server`` (so to the
    seeded state), closed after the test.

``lean_server_factory`` (function scope)
    ``lean_server_factory(**kwargs)`` starts another ``FakeLean`` with its own
    options (``transactions=``, ``seed=``, ``require_client_cert=False``,
    ``app_token=``...), stopped after the test.

``lean_server_options`` (session scope)
    The keyword arguments ``lean_server`` is built with (``{}`` by default).
    Override it in your ``conftest.py`` to change them for the whole run::

        @pytest.fixture(scope="session")
        def lean_server_options():
            return {"transactions": 500, "app_token": "test-app-token"}

Testing a Django or Flask app
-----------------------------

Point the settings your app builds its shared ``LeanSession`` from at the
emulator.  ``lean_server.session_kwargs()`` gives exactly what
``LeanSession(**kwargs)`` needs: ``app_token``, ``cert``, ``key``, ``ca``
(file paths) and ``base_url`` (add ``auth="oauth"`` to get ``client_id``,
``client_secret`` and ``auth_url`` for OAuth).  Django::

    # conftest.py
    import pytest

    @pytest.fixture(autouse=True)
    def lean_settings(settings, lean_server):   # `settings` comes from pytest-django
        kwargs = lean_server.session_kwargs()
        settings.LEAN_APP_TOKEN = kwargs["app_token"]
        settings.LEAN_CERT, settings.LEAN_KEY, settings.LEAN_CA = kwargs["cert"], kwargs["key"], kwargs["ca"]
        settings.LEAN_BASE_URL = kwargs["base_url"]
        settings.LEAN_WEBHOOK_SECRET = lean_server.webhook_secret
        yield
        myapp.lean.reset_session()               # drop the session built from the old settings

Flask (app factory)::

    @pytest.fixture
    def app(lean_server):
        return create_app({"LEAN": lean_server.session_kwargs(),
                           "LEAN_WEBHOOK_SECRET": lean_server.webhook_secret})

    def test_accounts_page(client, lean_server):
        page = client.get(f"/customers/{lean_server.customer_id}/accounts")
        assert page.status_code == 200

Webhook views are tested by letting the emulator sign and send the request:
run your app on a local port (e.g. ``pytest-django``'s ``live_server``) and call
``lean_server.send_webhook(live_server.url + "/lean/webhooks", "payment.created",
{...})``, which returns the HTTP status your view answered.  The signature is
``lean-signature: sha512=<hex HMAC-SHA512 of the raw body>`` keyed with
``lean_server.webhook_secret``, which your app must be configured with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._session import LeanSession
    from .fake import FakeLean

__all__ = ["lean_server", "lean_server_factory", "lean_server_options", "lean_server_persistent", "lean_session",
           "vcr_config"]


@pytest.fixture(scope="session")
def lean_server_options() -> dict[str, Any]:
    """Keyword arguments for the session's ``FakeLean``; override to change them."""
    return {}


def _start(options: dict[str, Any]) -> FakeLean:
    from .fake import FakeLean

    return FakeLean(**options).start()


@pytest.fixture(scope="session")
def _lean_server_process(lean_server_options: dict[str, Any]) -> Iterator[FakeLean]:
    """The server behind ``lean_server``: started once, stopped at the end of the session."""
    server = _start(lean_server_options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lean_server(_lean_server_process: FakeLean) -> Iterator[FakeLean]:
    """A local Lean (``FakeLean``) over mutual TLS, back in its seeded state for each test."""
    _lean_server_process.reset()
    try:
        yield _lean_server_process
    finally:
        _lean_server_process.clear_faults()


@pytest.fixture(scope="session")
def lean_server_persistent(lean_server_options: dict[str, Any]) -> Iterator[FakeLean]:
    """A local Lean shared by the whole session and never reset: state carries across tests."""
    server = _start(lean_server_options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lean_session(lean_server: FakeLean) -> Iterator[LeanSession]:
    """A ``LeanSession`` connected to ``lean_server``; closed after the test."""
    session = lean_server.session()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def lean_server_factory() -> Iterator[Callable[..., FakeLean]]:
    """Start extra ``FakeLean`` servers with their own options; all stopped after the test."""
    from .fake import FakeLean

    started: list[FakeLean] = []

    def make(**kwargs: Any) -> FakeLean:
        server = FakeLean(**kwargs).start()
        started.append(server)
        return server

    yield make
    for server in reversed(started):
        server.stop()


def _vcr_config() -> dict[str, Any]:
    """vcrpy settings for pytest-recording (``@pytest.mark.vcr``) that keep Lean
    credentials out of cassettes: credential headers dropped, ``client_secret``,
    ``access_token`` and the like replaced in bodies and query strings (see
    :func:`lean_mtls.testing.vcr_config`).  To add settings, override it in your
    ``conftest.py`` starting from those::

        @pytest.fixture
        def vcr_config():
            from lean_mtls.testing import vcr_config
            return {**vcr_config(), "record_mode": "once"}
    """
    from ._vcr import vcr_config as lean_vcr_config

    return lean_vcr_config()


vcr_config = pytest.fixture(_vcr_config, name="vcr_config")


def pytest_configure(config: pytest.Config) -> None:
    """pytest-recording defines an empty ``vcr_config`` too, and between two
    plugins the one registered last wins; entry points load in no set order.
    Registered again here (after every entry-point plugin), the
    credential-filtering one wins.  A ``conftest.py`` still overrides it."""
    import types

    if not config.pluginmanager.has_plugin(_LATE):
        late = types.ModuleType(_LATE)
        late.vcr_config = pytest.fixture(_vcr_config, name="vcr_config")  # type: ignore[attr-defined]
        config.pluginmanager.register(late, _LATE)


_LATE = "lean_mtls_late_fixtures"
