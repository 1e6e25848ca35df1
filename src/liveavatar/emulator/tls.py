"""A self-signed certificate for 127.0.0.1/localhost, made once and reused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"


def ensure_certificate(cert_dir: Path) -> tuple[Path, Path]:
    """Return (cert, key) paths in `cert_dir`, generating them if absent or expiring.

    The certificate carries SANs for IP 127.0.0.1, ::1 and DNS localhost, so any client
    that trusts `cert.pem` as a CA file can verify the emulator. A `cert.pem` (a chain,
    leaf first) and `key.pem` already there and valid for another 7 days are served as
    they are: the production rehearsal serves Google's hostnames that way, signed by a
    test CA (tests/support/rehearsal/pki.py).
    """
    cert_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = cert_dir / CERT_NAME, cert_dir / KEY_NAME
    if cert_path.exists() and key_path.exists() and _still_valid(cert_path):
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "liveavatar emulator")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tmp_key = key_path.with_suffix(".tmp")
    tmp_key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(tmp_key, 0o600)
    tmp_cert = cert_path.with_suffix(".tmp")
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    # Key first, then cert: a reader that sees the new cert always finds its key.
    tmp_key.replace(key_path)
    tmp_cert.replace(cert_path)
    return cert_path, key_path


def _still_valid(cert_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return False
    return cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=7)


def server_context(cert_dir: Path) -> ssl.SSLContext:
    cert, key = ensure_certificate(cert_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context(cert_dir: Path) -> ssl.SSLContext:
    """An SSL context that trusts only the emulator's certificate."""
    return ssl.create_default_context(cafile=str(cert_dir / CERT_NAME))
