"""The benchmark's PKI, made with trustme and written to a temporary directory.

Two independent hierarchies, as at Lean:

* server:  ``server CA -> server leaf (127.0.0.1, localhost)``
* client:  ``client root -> client intermediate -> client leaf``

The server trusts only the client *root*, so every client must send the
intermediate with its leaf.  Files:

* ``client_leaf.pem``   the leaf alone (as Lean's portal hands out ``*_cert.crt``)
* ``client_chain.pem``  leaf + intermediate (what requests/httpx need in ``cert=``,
  since they send only what the file holds)
* ``client_key.pem``    the client private key
* ``ca_bundle.pem``     server CA + client intermediate + client root (the
  ``lean_public_cert_chain.pem`` shape; LeanSession completes the client chain
  from it).  Every competitor verifies the server against this same file.
* ``server.pem`` / ``server_key.pem`` / ``client_root.pem``  for the server.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PKI:
    directory: Path
    client_leaf: str
    client_chain: str
    client_key: str
    ca_bundle: str
    server_cert: str
    server_key: str
    client_root: str
    key_type: str

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def make_pki(key_type: str = "rsa", directory: str | None = None) -> PKI:
    import trustme  # here, so child processes that only load_pki() never import cryptography early

    kt = trustme.KeyType.RSA if key_type == "rsa" else trustme.KeyType.ECDSA
    out = Path(directory or tempfile.mkdtemp(prefix="lean-mtls-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    server_ca = trustme.CA(organization_name="Bench Server CA", key_type=kt)
    client_root = trustme.CA(organization_name="Bench Client Root", key_type=kt)
    client_int = client_root.create_child_ca(key_type=kt)
    leaf = client_int.issue_cert("bench-client@lean.test", common_name="bench-client", key_type=kt)
    server_leaf = server_ca.issue_cert("127.0.0.1", "localhost", key_type=kt)

    def write(name: str, data: bytes) -> str:
        path = out / name
        path.write_bytes(data)
        return str(path)

    leaf_pem = leaf.cert_chain_pems[0].bytes()
    return PKI(
        directory=out,
        client_leaf=write("client_leaf.pem", leaf_pem),
        client_chain=write("client_chain.pem", leaf_pem + client_int.cert_pem.bytes()),
        client_key=write("client_key.pem", leaf.private_key_pem.bytes()),
        ca_bundle=write("ca_bundle.pem", server_ca.cert_pem.bytes() + client_int.cert_pem.bytes()
                        + client_root.cert_pem.bytes()),
        server_cert=write("server.pem", b"".join(p.bytes() for p in server_leaf.cert_chain_pems)),
        server_key=write("server_key.pem", server_leaf.private_key_pem.bytes()),
        client_root=write("client_root.pem", client_root.cert_pem.bytes()),
        key_type=key_type,
    )


def load_pki(directory: str, key_type: str = "?") -> PKI:
    """The PKI files :func:`make_pki` wrote to ``directory`` (used by child processes)."""
    d = Path(directory)
    return PKI(d, str(d / "client_leaf.pem"), str(d / "client_chain.pem"), str(d / "client_key.pem"),
               str(d / "ca_bundle.pem"), str(d / "server.pem"), str(d / "server_key.pem"),
               str(d / "client_root.pem"), key_type)
