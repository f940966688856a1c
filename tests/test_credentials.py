"""Loading and checking certificate material, without the network."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import trustme
from cryptography.hazmat.primitives import serialization

from lean_mtls import CertificateError, CertificateWarning, ConfigurationError
from lean_mtls._credentials import load_ca_bundle, load_client_identity

from .conftest import KEY_PASSWORD, incomplete_chain_is_not_the_point
from .pki import certificate, issue, key_bytes, pkcs12_bytes, write

PASSWORD = KEY_PASSWORD.encode()


def subject_cn(identity) -> str:  # type: ignore[no-untyped-def]
    return identity.chain[0].subject.rfc4514_string()


@pytest.fixture()
def rsa_leaf(client_intermediate: trustme.CA) -> trustme.LeafCert:
    return issue(client_intermediate, "rsa-app", key_type=trustme.KeyType.RSA)


@incomplete_chain_is_not_the_point
@pytest.mark.parametrize(
    ("form", "password"),
    [
        ("pkcs8", None),
        ("traditional", None),
        ("der", None),
        ("pkcs8-encrypted", KEY_PASSWORD),
        ("pkcs8-encrypted", PASSWORD),
        ("traditional-encrypted", KEY_PASSWORD),
    ],
)
@pytest.mark.parametrize("key_type", ["rsa", "ec"])
def test_key_forms_load_and_match(tmp_path: Path, client_intermediate: trustme.CA, form: str,
                                  password: object, key_type: str) -> None:
    leaf = issue(client_intermediate, f"{key_type}-app",
                 key_type=trustme.KeyType.RSA if key_type == "rsa" else trustme.KeyType.ECDSA)
    key = write(tmp_path / "key.pem", key_bytes(leaf, form, PASSWORD))
    if form == "traditional":
        expected = b"RSA PRIVATE KEY" if key_type == "rsa" else b"EC PRIVATE KEY"
        assert expected in key.read_bytes()
    cert = write(tmp_path / "cert.crt", leaf.cert_chain_pems[0].bytes())
    identity = load_client_identity(cert, key, password)  # type: ignore[arg-type]
    assert f"CN={key_type}-app" in subject_cn(identity)


@incomplete_chain_is_not_the_point
def test_password_may_be_a_callable(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    key = write(tmp_path / "key.pem", key_bytes(client_leaf, "pkcs8-encrypted", PASSWORD))
    cert = write(tmp_path / "cert.crt", client_leaf.cert_chain_pems[0].bytes())
    calls = []

    def from_vault() -> str:
        calls.append(1)
        return KEY_PASSWORD

    load_client_identity(cert, key, from_vault)
    assert calls == [1]


@incomplete_chain_is_not_the_point
def test_password_for_an_unencrypted_key_is_ignored(client_files) -> None:  # type: ignore[no-untyped-def]
    identity = load_client_identity(client_files.cert, client_files.key, "unused")
    assert "CN=app-1234" in subject_cn(identity)


@incomplete_chain_is_not_the_point
def test_pem_bytes_and_pem_text_are_accepted(client_leaf: trustme.LeafCert) -> None:
    identity = load_client_identity(client_leaf.cert_chain_pems[0].bytes(), client_leaf.private_key_pem.bytes())
    assert identity.source == "<certificate bytes>"
    text = load_client_identity(client_leaf.cert_chain_pems[0].bytes().decode(),
                                client_leaf.private_key_pem.bytes().decode())
    assert text.info == identity.info


@incomplete_chain_is_not_the_point
def test_der_certificate(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    der = certificate(client_leaf.cert_chain_pems[0]).public_bytes(serialization.Encoding.DER)
    identity = load_client_identity(write(tmp_path / "c.der", der), client_leaf.private_key_pem.bytes())
    assert "CN=app-1234" in subject_cn(identity)


@incomplete_chain_is_not_the_point
def test_combined_cert_and_key_file(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    combined = write(tmp_path / "combined.pem",
                     client_leaf.private_key_pem.bytes() + client_leaf.cert_chain_pems[0].bytes())
    identity = load_client_identity(combined)
    assert "CN=app-1234" in subject_cn(identity)


@pytest.mark.parametrize("password", [PASSWORD, None])
def test_pkcs12_bundle(tmp_path: Path, client_leaf: trustme.LeafCert, client_intermediate: trustme.CA,
                       password: bytes | None) -> None:
    p12 = write(tmp_path / "app.p12", pkcs12_bytes(client_leaf, [client_intermediate.cert_pem], password))
    identity = load_client_identity(p12, None, password)
    assert "CN=app-1234" in subject_cn(identity)
    assert len(identity.chain) == 2  # leaf + intermediate carried inside the bundle


def test_pkcs12_wrong_or_missing_password(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    p12 = write(tmp_path / "app.p12", pkcs12_bytes(client_leaf, [], PASSWORD))
    with pytest.raises(CertificateError, match="key_password is wrong") as wrong:
        load_client_identity(p12, None, "nope")
    with pytest.raises(CertificateError, match="pass its password as key_password") as missing:
        load_client_identity(p12)
    for exc in (wrong.value, missing.value):
        assert str(p12) in str(exc)


# ---------------------------------------------------------------------- chain completion


def test_chain_is_completed_from_the_ca_bundle(client_files, client_leaf, client_intermediate) -> None:  # type: ignore[no-untyped-def]
    ca = load_ca_bundle(client_files.ca)
    identity = load_client_identity(client_files.cert, client_files.key, None, ca)
    assert [c.subject for c in identity.chain] == [
        certificate(client_leaf.cert_chain_pems[0]).subject,
        certificate(client_intermediate.cert_pem).subject,
    ]
    assert identity.missing_issuer is None


def test_chain_is_reordered_and_roots_are_not_sent(tmp_path: Path) -> None:
    root = trustme.CA()
    inter1 = root.create_child_ca()
    inter2 = inter1.create_child_ca()
    leaf = issue(inter2, "deep")
    # Everything in the cert file, in the worst order: root, inter1, leaf, inter2.
    scrambled = (root.cert_pem.bytes() + inter1.cert_pem.bytes() + leaf.cert_chain_pems[0].bytes()
                 + inter2.cert_pem.bytes())
    identity = load_client_identity(write(tmp_path / "c.pem", scrambled), leaf.private_key_pem.bytes())
    assert [c.subject for c in identity.chain] == [
        certificate(leaf.cert_chain_pems[0]).subject,
        certificate(inter2.cert_pem).subject,
        certificate(inter1.cert_pem).subject,
    ]


def test_chain_split_between_cert_file_and_ca_bundle(tmp_path: Path) -> None:
    root = trustme.CA()
    inter1 = root.create_child_ca()
    inter2 = inter1.create_child_ca()
    leaf = issue(inter2, "split")
    cert = write(tmp_path / "c.pem", inter2.cert_pem.bytes() + leaf.cert_chain_pems[0].bytes())
    ca = load_ca_bundle(root.cert_pem.bytes() + inter1.cert_pem.bytes())
    identity = load_client_identity(cert, leaf.private_key_pem.bytes(), None, ca)
    assert len(identity.chain) == 3
    assert identity.chain[2].subject == certificate(inter1.cert_pem).subject


def test_missing_issuer_is_logged_by_subject(caplog, client_files, client_intermediate) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, "lean_mtls")
    issuer = certificate(client_intermediate.cert_pem).subject.rfc4514_string()
    with pytest.warns(CertificateWarning, match="The chain sent is incomplete") as warned:
        identity = load_client_identity(client_files.cert, client_files.key)  # no CA bundle to complete from
    assert issuer in str(warned[0].message)
    assert identity.missing_issuer == issuer
    assert len(identity.chain) == 1
    assert any(issuer in r.getMessage() for r in caplog.records)


# ---------------------------------------------------------------------- refusals


def test_key_not_matching_certificate(tmp_path: Path, client_leaf, client_intermediate) -> None:  # type: ignore[no-untyped-def]
    other = issue(client_intermediate, "other")
    key = write(tmp_path / "other_key.pem", other.private_key_pem.bytes())
    cert = write(tmp_path / "cert.crt", client_leaf.cert_chain_pems[0].bytes())
    with pytest.raises(CertificateError, match="does not match") as info:
        load_client_identity(cert, key)
    assert str(key) in str(info.value) and str(cert) in str(info.value)


def test_encrypted_key_without_password(tmp_path: Path, client_leaf) -> None:  # type: ignore[no-untyped-def]
    key = write(tmp_path / "key.pem", key_bytes(client_leaf, "pkcs8-encrypted", PASSWORD))
    with pytest.raises(CertificateError, match="encrypted: pass key_password") as info:
        load_client_identity(client_leaf.cert_chain_pems[0].bytes(), key)
    assert info.value.code == "missing-conf"
    assert str(key) in str(info.value)


@pytest.mark.parametrize("form", ["pkcs8-encrypted", "traditional-encrypted"])
def test_encrypted_key_with_wrong_password(tmp_path: Path, client_leaf, form: str) -> None:  # type: ignore[no-untyped-def]
    key = write(tmp_path / "key.pem", key_bytes(client_leaf, form, PASSWORD))
    with pytest.raises(CertificateError, match="key_password is wrong"):
        load_client_identity(client_leaf.cert_chain_pems[0].bytes(), key, "wrong password")


def test_expired_certificate(client_intermediate: trustme.CA) -> None:
    leaf = issue(client_intermediate, "old", days_valid=-3)
    with pytest.raises(CertificateError, match=r"expired on .* developer portal"):
        load_client_identity(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


def test_not_yet_valid_certificate(client_intermediate: trustme.CA) -> None:
    leaf = issue(client_intermediate, "future", starts_in_days=5)
    with pytest.raises(CertificateError, match=r"not valid until .* system clock"):
        load_client_identity(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())


@incomplete_chain_is_not_the_point
def test_certificate_expiring_soon_warns_with_date(caplog, client_intermediate: trustme.CA) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.WARNING, "lean_mtls")
    leaf = issue(client_intermediate, "soon", days_valid=10.5)
    identity = load_client_identity(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes())
    messages = [r.getMessage() for r in caplog.records if "expires on" in r.getMessage()]
    assert messages and f"{identity.info.not_after:%Y-%m-%d}" in messages[0]
    assert "in 10 days" in messages[0]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cert.crt"
    with pytest.raises(CertificateError, match="does not exist") as info:
        load_client_identity(missing, tmp_path / "key.pem")
    assert str(missing) in str(info.value)
    assert info.value.code == "missing-conf"


def test_unreadable_file(tmp_path: Path, client_leaf) -> None:  # type: ignore[no-untyped-def]
    if os.geteuid() == 0:
        # root reads anything; a directory is the unreadable "file" we can make.
        with pytest.raises(CertificateError, match="is a directory"):
            load_client_identity(tmp_path, client_leaf.private_key_pem.bytes())
        return
    cert = write(tmp_path / "cert.crt", client_leaf.cert_chain_pems[0].bytes())
    cert.chmod(0)
    with pytest.raises(CertificateError, match="cannot be read"):
        load_client_identity(cert, client_leaf.private_key_pem.bytes())


@pytest.mark.parametrize("content", [b"this is not a certificate\n", b"\x00\x01garbage" * 10])
def test_not_pem_or_pkcs12(tmp_path: Path, client_leaf, content: bytes) -> None:  # type: ignore[no-untyped-def]
    junk = write(tmp_path / "cert.crt", content)
    with pytest.raises(CertificateError, match="neither PEM, DER nor a readable PKCS#12") as info:
        load_client_identity(junk, client_leaf.private_key_pem.bytes())
    assert str(junk) in str(info.value)


def test_empty_file(tmp_path: Path, client_leaf) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CertificateError, match="is empty"):
        load_client_identity(write(tmp_path / "cert.crt", b""), client_leaf.private_key_pem.bytes())


def test_damaged_pem_block(tmp_path: Path, client_leaf) -> None:  # type: ignore[no-untyped-def]
    broken = b"-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError, match="damaged certificate block"):
        load_client_identity(write(tmp_path / "c.pem", broken), client_leaf.private_key_pem.bytes())


def test_cert_and_key_swapped(client_leaf) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CertificateError, match="look swapped"):
        load_client_identity(client_leaf.private_key_pem.bytes(), client_leaf.cert_chain_pems[0].bytes())


def test_no_key_anywhere(client_leaf) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CertificateError, match="holds no private key: pass key=") as info:
        load_client_identity(client_leaf.cert_chain_pems[0].bytes())
    assert info.value.code == "missing-conf"


def test_ca_bundle_with_private_key_is_refused(client_leaf) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CertificateError, match="contains a private key"):
        load_ca_bundle(client_leaf.private_key_pem.bytes() + client_leaf.cert_chain_pems[0].bytes())


def test_wrong_type_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="file path or the file's content as bytes"):
        load_client_identity(12345)  # type: ignore[arg-type]


def test_errors_never_contain_pem_content(tmp_path: Path, client_leaf, client_intermediate) -> None:  # type: ignore[no-untyped-def]
    other = issue(client_intermediate, "other")
    attempts = [
        lambda: load_client_identity(client_leaf.cert_chain_pems[0].bytes(), other.private_key_pem.bytes()),
        lambda: load_client_identity(client_leaf.private_key_pem.bytes(), client_leaf.cert_chain_pems[0].bytes()),
        lambda: load_client_identity(client_leaf.cert_chain_pems[0].bytes(),
                                     key_bytes(client_leaf, "pkcs8-encrypted", PASSWORD), "wr0ng-Pa55"),
        lambda: load_ca_bundle(client_leaf.private_key_pem.bytes()),
    ]
    for attempt in attempts:
        with pytest.raises(CertificateError) as info:
            attempt()
        text = str(info.value) + repr(info.value)
        assert "BEGIN" not in text and "PRIVATE KEY-----" not in text
        assert KEY_PASSWORD not in text and "wr0ng-Pa55" not in text


# ---------------------------------------------------------------------- PEM as it arrives in the wild


@incomplete_chain_is_not_the_point
def test_pem_with_trailing_blanks_and_crlf(client_leaf: trustme.LeafCert) -> None:
    def mangle(pem: bytes) -> bytes:
        return b"".join(line + b"   \r\n" for line in pem.splitlines())

    identity = load_client_identity(mangle(client_leaf.cert_chain_pems[0].bytes()),
                                    mangle(client_leaf.private_key_pem.bytes()))
    assert "CN=app-1234" in subject_cn(identity)


@incomplete_chain_is_not_the_point
@pytest.mark.parametrize("how", ["literal-backslash-n", "spaces"])
def test_pem_from_a_ci_variable_with_broken_newlines(client_leaf: trustme.LeafCert, how: str) -> None:
    def flatten(pem: bytes) -> bytes:
        return pem.strip().replace(b"\n", b"\\n" if how == "literal-backslash-n" else b" ")

    identity = load_client_identity(flatten(client_leaf.cert_chain_pems[0].bytes()).decode(),
                                    flatten(client_leaf.private_key_pem.bytes()))
    assert "CN=app-1234" in subject_cn(identity)


def test_openssl_trusted_certificate_block_in_ca_bundle(server_ca: trustme.CA) -> None:
    import base64

    der = certificate(server_ca.cert_pem).public_bytes(serialization.Encoding.DER)
    aux = bytes.fromhex("300c300a06082b06010505070301")  # trust settings OpenSSL appends (serverAuth)
    body = base64.encodebytes(der + aux)
    bundle = load_ca_bundle(b"-----BEGIN TRUSTED CERTIFICATE-----\n" + body + b"-----END TRUSTED CERTIFICATE-----\n")
    assert bundle.certificates[0] == certificate(server_ca.cert_pem)


def test_pkcs7_chain_as_ca_bundle(server_ca: trustme.CA, client_intermediate: trustme.CA) -> None:
    from cryptography.hazmat.primitives.serialization import pkcs7

    p7b = pkcs7.serialize_certificates(
        [certificate(server_ca.cert_pem), certificate(client_intermediate.cert_pem)], serialization.Encoding.PEM)
    assert len(load_ca_bundle(p7b).certificates) == 2


def test_failing_password_callable_is_a_certificate_error(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    key = write(tmp_path / "key.pem", key_bytes(client_leaf, "pkcs8-encrypted", PASSWORD))

    def vault_down() -> str:
        raise RuntimeError("vault unreachable")

    with pytest.raises(CertificateError, match="key_password callable failed"):
        load_client_identity(client_leaf.cert_chain_pems[0].bytes(), key, vault_down)


@incomplete_chain_is_not_the_point
def test_pkcs12_with_a_separate_key_still_uses_the_password(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    p12 = write(tmp_path / "app.p12", pkcs12_bytes(client_leaf, [], PASSWORD))
    identity = load_client_identity(p12, client_leaf.private_key_pem.bytes(), KEY_PASSWORD)
    assert "CN=app-1234" in subject_cn(identity)


@pytest.mark.parametrize("key_kind", ["rsa", "ec"])
def test_issuer_name_that_differs_only_in_case_still_completes_the_chain(key_kind: str) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    def new_key():  # type: ignore[no-untyped-def]
        return rsa.generate_private_key(65537, 2048) if key_kind == "rsa" else ec.generate_private_key(ec.SECP256R1())

    def name(cn: str, org: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = dt.datetime.now(dt.timezone.utc)

    def build(subject: x509.Name, issuer: x509.Name, public, signer, ca: bool):  # type: ignore[no-untyped-def]
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public)
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=90))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                .sign(signer, hashes.SHA256()))

    root_key, inter_key, leaf_key = new_key(), new_key(), new_key()
    root = build(name("Root", "Lean Test"), name("Root", "Lean Test"), root_key.public_key(), root_key, True)
    inter = build(name("Client Int", "Lean Test"), root.subject, inter_key.public_key(), root_key, True)
    # The leaf names its issuer in other letter case, as some CAs write it; RFC 5280 says they match.
    leaf = build(name("app", "Lean Test"), name("client int", "LEAN TEST"), leaf_key.public_key(), inter_key, False)
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    bundle = load_ca_bundle(inter.public_bytes(pem) + root.public_bytes(pem))
    identity = load_client_identity(leaf.public_bytes(pem), key_pem, None, bundle)
    assert [c.subject for c in identity.chain] == [leaf.subject, inter.subject]
    assert identity.missing_issuer is None
