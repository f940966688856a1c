"""Certificates and keys given as text the way vaults, Kubernetes secrets and CI variables hold them,
and values that are neither: never echoed (issue 11 item 3, loader part)."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from lean_mtls import CertificateError, LeanSession, inspect_credentials
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, KEY_PASSWORD, ClientFiles
from .pki import key_bytes, pkcs12_bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pem_body(pem: bytes) -> str:
    """The base64 between the BEGIN and END lines, line breaks kept."""
    return "\n".join(line for line in pem.decode().strip().splitlines() if not line.startswith("-----"))


def wrapped(text: str, width: int = 76) -> str:
    return "\n".join(text[i:i + width] for i in range(0, len(text), width))


def key_spellings(leaf: trustme.LeafCert) -> dict[str, tuple[Any, Any]]:
    """``name: (key value, key_password)``: every text form of the same key."""
    pem = leaf.private_key_pem.bytes()
    der = key_bytes(leaf, "der")
    encrypted_pem = key_bytes(leaf, "pkcs8-encrypted", KEY_PASSWORD.encode())
    return {
        "base64 -w0 of the PEM file": (b64(pem), None),
        "base64 of the PEM file, wrapped at 76": (wrapped(b64(pem)), None),
        "base64 of the PEM file, CRLF and trailing blanks": (wrapped(b64(pem), 64).replace("\n", " \r\n") + "\n",
                                                             None),
        "base64 with literal \\n sequences": (wrapped(b64(pem)).replace("\n", "\\n"), None),
        "URL-safe base64 without padding": (base64.urlsafe_b64encode(pem).decode().rstrip("="), None),
        "bare PEM body, line breaks kept": (pem_body(pem), None),
        "bare PEM body on one line": (pem_body(pem).replace("\n", ""), None),
        "base64 of DER": (b64(der), None),
        "base64 of the encrypted PEM": (b64(encrypted_pem), KEY_PASSWORD),
        "base64 as bytes (os.environb)": (b64(pem).encode(), None),
    }


@pytest.fixture()
def chain_cert(client_files: ClientFiles, client_intermediate: trustme.CA) -> bytes:
    return client_files.cert.read_bytes() + client_intermediate.cert_pem.bytes()


@pytest.mark.parametrize("name", list(key_spellings(trustme.CA().issue_cert("x"))))
def test_key_as_base64_or_bare_body_completes_a_handshake(
    name: str, server: MTLSServer, client_files: ClientFiles, client_leaf: trustme.LeafCert,
) -> None:
    key, password = key_spellings(client_leaf)[name]
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=key, key_password=password, ca=client_files.ca,
                     base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
    assert server.requests[-1].client_subject_cn == "app-1234"


@pytest.mark.parametrize("form", ["base64 of PEM chain", "bare PEM body", "base64 of DER", "base64 of PKCS#12",
                                  "file holding base64"])
def test_certificate_as_base64_text(
    form: str, server: MTLSServer, client_files: ClientFiles, client_leaf: trustme.LeafCert, chain_cert: bytes,
    client_intermediate: trustme.CA, tmp_path: Path,
) -> None:
    from cryptography import x509

    leaf_der = x509.load_pem_x509_certificate(client_files.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER)
    options: dict[str, Any] = {"key": client_files.key}
    if form == "base64 of PEM chain":
        options["cert"] = b64(chain_cert)
    elif form == "bare PEM body":
        options["cert"] = pem_body(client_files.cert.read_bytes())
    elif form == "base64 of DER":
        options["cert"] = b64(leaf_der)
    elif form == "base64 of PKCS#12":
        options = {"cert": b64(pkcs12_bytes(client_leaf, [client_intermediate.cert_pem], KEY_PASSWORD.encode())),
                   "key_password": KEY_PASSWORD}
    else:
        path = tmp_path / "cert.b64"
        path.write_text(wrapped(b64(chain_cert)))
        options["cert"] = path
    with LeanSession(APP_TOKEN, ca=client_files.ca, base_url=server.url, **options) as s:
        assert s.get("/banks/v1/").status_code == 200
    assert inspect_credentials(ca=client_files.ca, **options).key_matches


def _not_material(leaf: trustme.LeafCert) -> dict[str, str]:
    body = pem_body(leaf.private_key_pem.bytes()).replace("\n", "")
    return {
        "base64 with one character damaged": body[:40] + "!" + body[41:],
        "truncated base64 of the PEM file": b64(leaf.private_key_pem.bytes())[:-7],
        "base64 of something else": b64(b"not a key, but a long enough sentence to look like one " * 4),
        "a token in the wrong place": "tok_sk_live_5f2e9c1d-SECRET-app-token-0001",
        "multi-line text": "line one of a secret value\nline two of a secret value",
    }


@pytest.mark.parametrize("name", list(_not_material(trustme.CA().issue_cert("x"))))
def test_a_value_that_is_neither_path_nor_material_is_never_echoed(
    name: str, client_files: ClientFiles, client_leaf: trustme.LeafCert, caplog: pytest.LogCaptureFixture,
) -> None:
    value = _not_material(client_leaf)[name]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CertificateError) as caught:
        LeanSession(APP_TOKEN, cert=client_files.cert, key=value, ca=client_files.ca, base_url="https://127.0.0.1:9")
    error = caught.value
    outputs = [str(error), repr(error), repr(error.args), str(getattr(error, "source", ""))]
    outputs += [r.getMessage() for r in caplog.records]
    probes = {value[i:i + 12] for i in range(0, max(1, len(value) - 12), 6)}
    for text in outputs:
        assert not any(probe in text for probe in probes), text
    assert "key" in str(error)
    assert f"{len(value)} characters" in str(error) or "PEM data" in str(error)


def test_a_path_shaped_value_is_still_named(tmp_path: Path, client_files: ClientFiles) -> None:
    missing = "certs/does-not-exist.pem"
    with pytest.raises(CertificateError, match="does not exist") as caught:
        LeanSession(APP_TOKEN, cert=missing, key=client_files.key, ca=client_files.ca,
                    base_url="https://127.0.0.1:9")
    assert missing in str(caught.value)
