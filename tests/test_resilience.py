"""Fault suite: a misbehaving mTLS server on 127.0.0.1 and what the SDK does about it.

Every test uses a recording ``sleep`` so that backoff is measured, not waited.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from itertools import count

import pytest
import trustme

from lean_mtls import (
    InvalidResponseError,
    LeanConnectionError,
    LeanSession,
    LeanTimeout,
    LeanTLSError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles, incomplete_chain_is_not_the_point
from .pki import issue


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture()
def session(server: MTLSServer, client_files: ClientFiles, sleeps: Sleeps) -> Iterator[LeanSession]:
    policy = RetryPolicy(retries=2, backoff_factor=0.5, max_backoff=4, sleep=sleeps)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=policy, timeout=(5, 0.5)) as s:
        yield s


def sequence(*replies: Reply) -> tuple[list[RecordedRequest], object]:
    """A handler answering ``replies`` in order (the last one repeats), recording requests."""
    seen: list[RecordedRequest] = []
    counter = count()

    def handler(request: RecordedRequest) -> Reply:
        seen.append(request)
        return replies[min(next(counter), len(replies) - 1)]

    return seen, handler


OK = Reply(200, {"ok": True})


def test_reset_before_the_request_is_read_is_retried(session: LeanSession, server: MTLSServer,
                                                     sleeps: Sleeps) -> None:
    seen, handler = sequence(OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    server.fail_next_connections(1, "reset")
    response = session.post("/customers/v1/", json={"app_user_id": "u"}, idempotency_key="k-1")
    assert response.status_code == 200
    assert response.lean_attempts == 2  # type: ignore[attr-defined]
    assert len(seen) == 1
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5


def test_reset_after_the_request_retries_a_get(session: LeanSession, server: MTLSServer, sleeps: Sleeps) -> None:
    seen, handler = sequence(Reply(fault="reset"), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    assert session.request_json("GET", "/banks/v1/") == {"ok": True}
    assert len(seen) == 2 and len(sleeps) == 1


def test_post_without_idempotency_key_is_sent_exactly_once(session: LeanSession, server: MTLSServer,
                                                           sleeps: Sleeps) -> None:
    seen, handler = sequence(Reply(fault="reset"), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(LeanConnectionError) as info:
        session.request_json("POST", "/payments/v1/intents", json={"amount": 10})
    assert not isinstance(info.value, LeanTLSError)
    assert info.value.request_sent is True
    assert len(seen) == 1 and sleeps == []
    assert info.value.attempts == 1


def test_post_with_idempotency_key_is_retried_with_the_same_key(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(fault="reset"), Reply(503, {"status": "UNAVAILABLE"}), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    response = session.post("/payments/v1/intents", json={"amount": 10}, idempotency_key="pay-42")
    assert response.status_code == 200
    assert [r.headers["idempotency-key"] for r in seen] == ["pay-42"] * 3
    assert [r.json() for r in seen] == [{"amount": 10}] * 3


def test_post_503_without_key_is_not_retried(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(503, {"status": "SERVICE_UNAVAILABLE", "message": "later"}))
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(ServerError) as info:
        session.request_json("POST", "/customers/v1/", json={"app_user_id": "u"})
    assert len(seen) == 1 and info.value.status_code == 503


def test_stall_past_the_read_timeout(session: LeanSession, server: MTLSServer, sleeps: Sleeps,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "lean_mtls")
    seen, handler = sequence(Reply(200, {}, delay=1.5))
    server.set_handler(handler)  # type: ignore[arg-type]
    started = time.monotonic()
    with pytest.raises(LeanTimeout) as info:
        session.request_json("GET", "/data/v2/accounts")
    elapsed = time.monotonic() - started
    assert info.value.phase == "read"
    assert info.value.attempts == 3 and "gave up after 3 attempts" in str(info.value)
    assert len(seen) == 3
    assert elapsed < 3 * 0.5 + 1.0  # three read timeouts; the backoff sleeps were recorded, not slept
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.9 / 2  # exponential, with jitter
    attempts_logged = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(attempts_logged) == 2 and all(r.levelno == logging.DEBUG for r in attempts_logged)


def test_post_read_timeout_is_not_retried(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(200, {}, delay=1.0))
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(LeanTimeout):
        session.request_json("POST", "/customers/v1/", json={})
    time.sleep(1.1)  # let the stalled handler record its request
    assert len(seen) == 1


def test_close_mid_body(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(200, {"items": list(range(2000))}, fault="close_mid_body"))
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(LeanConnectionError) as info:
        session.request_json("GET", "/banks/v1/")
    assert "broke before a complete answer" in str(info.value)
    assert len(seen) == 3  # a GET is retried, and failed each time


def test_429_honours_retry_after(session: LeanSession, server: MTLSServer, sleeps: Sleeps) -> None:
    seen, handler = sequence(
        Reply(429, {"status": "RATE_LIMIT_EXCEEDED", "message": "slow"}, {"Retry-After": "3"}), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    assert session.request_json("GET", "/banks/v1/") == {"ok": True}
    assert sleeps == [3.0]
    assert len(seen) == 2


def test_429_with_a_retry_after_beyond_the_maximum_is_returned(session: LeanSession, server: MTLSServer,
                                                                sleeps: Sleeps) -> None:
    seen, handler = sequence(Reply(429, {"status": "RATE_LIMIT_EXCEEDED", "message": "slow"},
                                   {"Retry-After": "600"}))
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(RateLimitError) as info:
        session.request_json("GET", "/banks/v1/")
    assert info.value.retry_after == 600 and sleeps == [] and len(seen) == 1


def test_503_then_200(session: LeanSession, server: MTLSServer, sleeps: Sleeps) -> None:
    seen, handler = sequence(Reply(503, "<html>maintenance</html>"), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    response = session.get("/banks/v1/")
    assert response.status_code == 200 and len(seen) == 2 and len(sleeps) == 1


def test_retries_zero_per_call(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(503, {"status": "X"}), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    assert session.get("/banks/v1/", retries=0).status_code == 503
    assert len(seen) == 1


def test_500_html_page(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(500, "<html><head><title>500 Internal Server Error</title></head></html>",
                                   {"Content-Type": "text/html"}))
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(ServerError, match="500 Internal Server Error"):
        session.request_json("GET", "/banks/v1/")
    assert len(seen) == 1  # 500 is not a retryable status


def test_truncated_json(session: LeanSession, server: MTLSServer) -> None:
    server.set_handler(lambda r: Reply(200, b'{"data": [1, 2', {"Content-Type": "application/json"}))
    with pytest.raises(InvalidResponseError):
        session.request_json("GET", "/banks/v1/")


def test_huge_body_is_refused(server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, b"[" + b"0," * 3_000_000 + b"0]", {"Content-Type": "application/json"}))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, max_response_bytes=1_000_000) as session:
        with pytest.raises(InvalidResponseError, match="more than 1000000 bytes"):
            session.request_json("GET", "/banks/v1/")
        server.set_handler(lambda r: Reply(200, [0] * 1000))
        assert len(session.request_json("GET", "/banks/v1/")) == 1000  # the session is still usable


@incomplete_chain_is_not_the_point
def test_rejected_client_certificate_is_not_retried(server: MTLSServer, client_files: ClientFiles,
                                                    sleeps: Sleeps) -> None:
    stranger = issue(trustme.CA(), "stranger")
    before = server.connections + len(server.handshake_errors)
    with LeanSession(APP_TOKEN, cert=stranger.cert_chain_pems[0].bytes(), key=stranger.private_key_pem.bytes(),
                     ca=client_files.ca, base_url=server.url, retries=RetryPolicy(retries=5, sleep=sleeps)) as s:
        for _ in range(5):  # the verdict arrives as an alert or as a bare reset: both must say "client"
            with pytest.raises(LeanTLSError) as info:
                s.get("/banks/v1/")
            assert info.value.side == "client" and info.value.attempts == 1
    assert sleeps == []
    assert server.connections + len(server.handshake_errors) - before <= 10  # one try (+ one probe) each


# ---------------------------------------------------------------------- threads and pools


def test_16_threads_share_one_session_within_the_pool(server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, {"ok": True}))
    errors: list[BaseException] = []
    done = count()
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, pool_size=8) as session:
        session.get("/warm")
        before = server.connections

        def worker() -> None:
            for _ in range(200):
                try:
                    session.request_json("GET", "/banks/v1/")
                    next(done)
                except BaseException as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        new_connections = server.connections - before
    assert errors == []
    assert next(done) == 16 * 200
    assert new_connections <= 8 - 1  # the warm connection is one of the 8


def test_pool_exhaustion_times_out_instead_of_hanging(server: MTLSServer, client_files: ClientFiles) -> None:
    release = threading.Event()
    server.set_handler(lambda r: (release.wait(5), Reply(200, {}))[1])
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, pool_size=1, pool_timeout=0.3, retries=0) as session:
        holder = threading.Thread(target=lambda: session.get("/slow"))
        holder.start()
        time.sleep(0.3)
        started = time.monotonic()
        try:
            with pytest.raises(LeanTimeout) as info:
                session.get("/other")
            assert info.value.phase == "pool"
            assert time.monotonic() - started < 2
        finally:
            release.set()
            holder.join(5)


def test_connect_failure_is_retried_for_any_method(client_files: ClientFiles, sleeps: Sleeps) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=f"https://127.0.0.1:{port}", retries=RetryPolicy(sleep=sleeps)) as session, \
            pytest.raises(LeanConnectionError) as info:
        session.post("/customers/v1/", json={})
    assert info.value.request_sent is False
    assert info.value.attempts == 3 and len(sleeps) == 2


def test_retry_policy_validation() -> None:
    with pytest.raises(ValueError, match="retries"):
        RetryPolicy(retries=-1)
    policy = RetryPolicy(backoff_factor=1, max_backoff=3, jitter=0)
    assert [policy.backoff(n) for n in (1, 2, 3, 4)] == [1, 2, 3, 3]
    jittered = RetryPolicy(backoff_factor=1, jitter=0.5)
    assert all(0.5 <= jittered.backoff(1) <= 1 for _ in range(50))


# ---------------------------------------------------------------------- idempotent payment calls


PAYOUT = [{"account_id": "acc-1", "currency": "AED",
           "destination_details": [{"payment_destination_id": "pd-1", "amount": 5}]}]


def test_payment_calls_get_one_key_per_call_reused_on_retry(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(503, {"status": "BUSY"}), Reply(200, {"id": "p1"}), Reply(200, {"id": "p2"}))
    server.set_handler(handler)  # type: ignore[arg-type]
    assert session.payments.create_account_on_file_payment("c", 10, channel="MOBILE") == {"id": "p1"}
    assert session.payouts.create(PAYOUT) == {"id": "p2"}
    keys = [r.headers["idempotency-key"] for r in seen]
    assert keys[0] == keys[1] != keys[2]  # reused on the retry, fresh for the next logical call
    assert [r.path for r in seen] == ["/payments/account-on-file"] * 2 + ["/payouts/v1/payment"]


def test_user_supplied_idempotency_key_wins(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(200, {}))
    server.set_handler(handler)  # type: ignore[arg-type]
    session.payouts.create(PAYOUT, idempotency_key="order-981")
    assert seen[-1].headers["idempotency-key"] == "order-981"


def test_final_http_error_reports_the_attempts(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(503, {"status": "SERVICE_UNAVAILABLE", "message": "later"}))
    server.set_handler(handler)  # type: ignore[arg-type]
    with pytest.raises(ServerError) as info:
        session.request_json("GET", "/banks/v1/")
    assert info.value.attempts == 3 and "gave up after 3 attempts" in str(info.value)
    assert len(seen) == 3


def test_retrying_context_applies_to_resource_methods(session: LeanSession, server: MTLSServer) -> None:
    seen, handler = sequence(Reply(503, {"status": "X", "message": "later"}), OK)
    server.set_handler(handler)  # type: ignore[arg-type]
    with session.retrying(0), pytest.raises(ServerError):
        session.banks.list()
    assert len(seen) == 1
    assert session.banks.list() == {"ok": True}  # outside the block the session's policy applies again


def test_a_trickling_body_cannot_hold_a_worker_past_the_read_timeout(server: MTLSServer,
                                                                      client_files: ClientFiles) -> None:
    # One byte every 0.1 s: every single wait is far below the 0.5 s read timeout, the body takes 3 s.
    server.set_handler(lambda r: Reply(200, {"padding": "x" * 20}, delay=0.1, fault="trickle"))
    # No clock read here: every single wait is below the read timeout, so without a deadline for
    # the whole answer the call would succeed after 3 s; raising the read timeout is the proof.
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, timeout=(5, 0.5), retries=0) as session, \
            pytest.raises(LeanTimeout) as info:
        session.request_json("GET", "/banks/v1/")
    assert info.value.phase == "read"
