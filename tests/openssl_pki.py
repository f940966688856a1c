"""PKI made with the openssl CLI, as integrators make theirs.

cryptography refuses to *build* some certificates OpenSSL happily makes and
uses (zero or negative serials, RSA-PSS keys), and those are exactly the
inputs the loader has to tolerate, so they come from the real tool.
"""

from __future__ import annotations

import base64
import datetime as dt
import subprocess
from pathlib import Path
from typing import NamedTuple

#: ``openssl genpkey`` arguments per key kind.
KEY_KINDS: dict[str, list[str]] = {
    "rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "rsa-pss": ["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ec-p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "ec-p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "ec-p521": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
    "ed25519": ["-algorithm", "ED25519"],
    "ed448": ["-algorithm", "ED448"],
}


class Issued(NamedTuple):
    cert: Path
    key: Path


def openssl(directory: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)


def new_key(directory: Path, name: str, kind: str = "ec-p256") -> Path:
    path = directory / f"{name}.key"
    openssl(directory, "genpkey", *KEY_KINDS[kind], "-out", str(path))
    return path


def make_ca(directory: Path, name: str, *, serial: str = "1000", kind: str = "ec-p256",
            issuer: Issued | None = None, days: int = 30) -> Issued:
    """A CA certificate (self-signed unless ``issuer`` is given) with ``serial``
    (``"0"`` and negative values are allowed by openssl)."""
    ext = directory / f"{name}.ext"
    ext.write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                   "subjectKeyIdentifier=hash\n")
    return _sign(directory, name, kind, ext, serial, issuer, days)


def make_leaf(directory: Path, name: str, issuer: Issued, *, kind: str = "ec-p256",
              san: str | None = None, eku: str | None = "clientAuth,serverAuth",
              serial: str = "2000", days: int = 30) -> Issued:
    ext = directory / f"{name}.ext"
    lines = ["basicConstraints=CA:FALSE"]
    if eku:
        lines.append(f"extendedKeyUsage={eku}")
    if san:
        lines.append(f"subjectAltName={san}")
    ext.write_text("\n".join(lines) + "\n")
    return _sign(directory, name, kind, ext, serial, issuer, days)


_CA_CONFIG = """[ca]
default_ca = signer
[signer]
database = {directory}/index.txt
serial = {directory}/serial
new_certs_dir = {directory}
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[anything]
organizationName = optional
commonName = supplied
"""


def _sign(directory: Path, name: str, kind: str, ext: Path, serial: str, issuer: Issued | None,
          days: int) -> Issued:
    """Sign with ``openssl ca``, backdated by a day: a certificate made this second and checked the
    next instant by a server (or a clock a little behind) must not be "not yet valid".  OpenSSL 3.0's
    ``x509 -req`` cannot backdate; it is kept only for negative serials, which ``ca`` cannot write."""
    key = new_key(directory, name, kind)
    cert = directory / f"{name}.pem"
    csr = directory / f"{name}.csr"
    openssl(directory, "req", "-new", "-key", str(key), "-subj", f"/O=Test PKI/CN={name}", "-out", str(csr))
    if serial.startswith("-"):
        signer = ["-key", str(key)] if issuer is None else ["-CA", str(issuer.cert), "-CAkey", str(issuer.key)]
        openssl(directory, "x509", "-req", "-in", str(csr), *signer, "-set_serial", serial,
                "-days", str(days), "-extfile", str(ext), "-out", str(cert))
        return Issued(cert, key)
    config = directory / "ca.cnf"
    config.write_text(_CA_CONFIG.format(directory=directory))
    (directory / "index.txt").write_text("")
    digits = f"{int(serial):X}"
    (directory / "serial").write_text(digits.rjust(len(digits) + len(digits) % 2, "0") + "\n")
    now = dt.datetime.now(dt.timezone.utc)
    start = (now - dt.timedelta(days=1)).strftime("%Y%m%d%H%M%SZ")
    end = (now + dt.timedelta(days=days)).strftime("%Y%m%d%H%M%SZ")
    signer = ["-selfsign", "-keyfile", str(key)] if issuer is None else [
        "-cert", str(issuer.cert), "-keyfile", str(issuer.key)]
    openssl(directory, "ca", "-batch", "-config", str(config), *signer, "-in", str(csr), "-out", str(cert),
            "-startdate", start, "-enddate", end, "-extfile", str(ext), "-notext")
    return Issued(cert, key)


def pem_der(pem: bytes) -> bytes:
    body = b"".join(line for line in pem.strip().splitlines() if not line.startswith(b"-----"))
    return base64.b64decode(body)


def der_pem(der: bytes, label: str = "CERTIFICATE") -> bytes:
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode("ascii")


def ber_length(der: bytes) -> bytes:
    """The same certificate with its outer length in a non-minimal (BER) form:
    OpenSSL reads it, cryptography's strict DER parser does not.  The signature
    covers the inner tbsCertificate only, so it still verifies."""
    assert der[0] == 0x30 and der[1] == 0x82, "expects a certificate between 256 bytes and 64 KiB"
    return b"\x30\x83\x00" + der[2:]
