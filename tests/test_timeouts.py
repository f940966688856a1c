"""Every request has a deadline: per-call timeouts are held to the session's rule,
and the pool wait has a deadline through a proxy too (real TLS on 127.0.0.1)."""

from __future__ import annotations

import threading
from fractions import Fraction

import pytest
import urllib3

from lean_mtls import ConfigurationError, InvalidRequestError, LeanError, LeanSession, LeanTimeout
from lean_mtls.testing import MTLSServer, Reply

from .conftest import APP_TOKEN, ClientFiles
from .test_proxy import ConnectProxy

NOT_DEADLINES = [
    pytest.param((2, None), id="read-None"),
    pytest.param((None, 2), id="connect-None"),
    pytest.param(float("inf"), id="inf"),
    pytest.param((1, float("inf")), id="read-inf"),
    pytest.param(0, id="zero"),
    pytest.param((0, 5), id="connect-zero"),
    pytest.param(-1, id="negative"),
    pytest.param(float("nan"), id="nan"),
    pytest.param((1, float("nan")), id="read-nan"),
    pytest.param("5", id="string"),
    pytest.param(("1", "2"), id="strings"),
    pytest.param(True, id="bool"),
    pytest.param((True, 5), id="bool-in-tuple"),
    pytest.param([1, 2], id="list"),
    pytest.param((1, 2, 3), id="three"),
    pytest.param(1e100, id="huge"),
    pytest.param(urllib3.Timeout(connect=1), id="urllib3-no-read"),
]


def build(server: MTLSServer, files: ClientFiles, **kwargs: object) -> LeanSession:
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=server.url,
                       retries=0, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", NOT_DEADLINES)
def test_a_per_call_timeout_that_is_no_deadline_is_refused_before_sending(
        server: MTLSServer, client_files: ClientFiles, timeout: object) -> None:
    before = len(server.requests)
    with build(server, client_files) as session, pytest.raises(InvalidRequestError) as info:
        session.get("/banks/v1/", timeout=timeout)
    assert "timeout" in str(info.value) and "(connect, read)" in str(info.value)  # names the fix
    assert isinstance(info.value, ValueError)
    assert len(server.requests) == before  # nothing was sent


@pytest.mark.parametrize("timeout", NOT_DEADLINES)
def test_the_session_timeout_follows_the_same_rule(client_files: ClientFiles, timeout: object) -> None:
    with pytest.raises(ConfigurationError, match=r"\(connect, read\)"):
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                    base_url="https://127.0.0.1:9", timeout=timeout)  # type: ignore[arg-type]


def test_assigning_the_session_timeout_is_validated(server: MTLSServer, client_files: ClientFiles) -> None:
    with build(server, client_files) as session:
        with pytest.raises(ConfigurationError, match="wait for ever"):
            session.timeout = (5, None)  # type: ignore[assignment]
        session.timeout = 7  # type: ignore[assignment]
        assert session.timeout == (7.0, 7.0)


@pytest.mark.parametrize("timeout", [5, 2.5, (1, 3), Fraction(5, 2), urllib3.Timeout(connect=1, read=2)],
                         ids=["int", "float", "tuple", "fraction", "urllib3"])
def test_per_call_deadlines_are_used(server: MTLSServer, client_files: ClientFiles, timeout: object) -> None:
    with build(server, client_files) as session:
        assert session.get("/banks/v1/", timeout=timeout).status_code == 200


def test_a_per_call_read_timeout_applies(server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, {"ok": True}, delay=0.5))
    with build(server, client_files, timeout=(5, 30)) as session, pytest.raises(LeanTimeout) as info:
        session.get("/banks/v1/", timeout=(5, 0.1))
    assert info.value.phase == "read"


@pytest.mark.parametrize("pool_timeout", [float("inf"), float("nan"), True, 0, "1"])
def test_pool_timeout_must_be_a_deadline(client_files: ClientFiles, pool_timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="pool_timeout"):
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                    base_url="https://127.0.0.1:9", pool_timeout=pool_timeout)  # type: ignore[arg-type]


def test_pool_timeout_is_honoured_through_a_proxy(server: MTLSServer, client_files: ClientFiles) -> None:
    proxy = ConnectProxy()
    outcome: list[BaseException | int] = []
    try:
        with build(server, client_files, proxies={"https": proxy.url}, pool_size=1, pool_timeout=0.2) as session:
            held = session.get("/banks/v1/", stream=True)  # holds the only connection (kept referenced)

            def second() -> None:
                try:
                    outcome.append(session.get("/banks/v1/").status_code)
                except LeanError as error:
                    outcome.append(error)

            worker = threading.Thread(target=second, daemon=True)
            worker.start()
            worker.join(10)  # without a pool deadline this thread would wait for ever
            assert not worker.is_alive()
            held.close()
    finally:
        proxy.close()
    assert len(outcome) == 1 and isinstance(outcome[0], LeanTimeout)
    assert outcome[0].phase == "pool"
    assert "stream=True" in str(outcome[0])  # names what holds the connection


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-1"])
def test_the_cli_timeout_follows_the_same_rule(value: str) -> None:
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    environ["LEAN_APP_TOKEN"] = APP_TOKEN
    result = subprocess.run([sys.executable, "-m", "lean_mtls", "banks", "--timeout", value],
                            capture_output=True, text=True, env=environ, timeout=60, check=False)
    assert result.returncode == 2
    assert "--timeout" in result.stderr and "finite" in result.stderr
    assert "Traceback" not in result.stderr
