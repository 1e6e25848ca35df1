"""A test certificate authority and one server certificate for Google's real hostnames.

The stand-ins (the emulator, the token endpoint, Firestore, Cloud Storage) serve the leaf;
the backend under test trusts it only because the CA is in the bundle its default trust
stores read (`SSL_CERT_FILE`, `REQUESTS_CA_BUNDLE`, `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`),
exactly as it trusts Google's own CAs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from liveavatar.emulator.tls import CERT_NAME, KEY_NAME

# Every name the backend resolves in production, each served by a stand-in.
GEMINI_HOST = "generativelanguage.googleapis.com"
TOKEN_HOST = "oauth2.googleapis.com"  # google-auth's token_uri for authorized_user
FIRESTORE_HOST = "firestore.googleapis.com"
STORAGE_HOST = "storage.googleapis.com"
CERTS_HOST = "www.googleapis.com"  # Firebase's ID token certificates
IAP_KEYS_HOST = "www.gstatic.com"  # IAP's signing keys
SECRETS_HOST = "secretmanager.googleapis.com"


def vertex_host(location: str) -> str:
    """Written out here, not imported: the test must not share the product's answer."""
    if location == "global":
        return "aiplatform.googleapis.com"
    return f"{location}-aiplatform.googleapis.com"


HOSTNAMES = (
    GEMINI_HOST,
    vertex_host("us-central1"),
    vertex_host("global"),
    vertex_host("europe-west4"),  # the region the deploy files are checked with
    TOKEN_HOST,
    FIRESTORE_HOST,
    STORAGE_HOST,
    CERTS_HOST,
    IAP_KEYS_HOST,
    SECRETS_HOST,
)
# Beyond the 7 days the emulator asks of a certificate it finds in its cert dir.
VALID_DAYS = 30


@dataclass(frozen=True)
class StandInPki:
    """Where the files are: `cert_dir` holds `cert.pem` (leaf + CA) and `key.pem` as the
    emulator reads them; `bundle` is the CA alone, the trust store of the backend."""

    cert_dir: Path
    bundle: Path

    @property
    def cert(self) -> Path:
        return self.cert_dir / CERT_NAME

    @property
    def key(self) -> Path:
        return self.cert_dir / KEY_NAME


def make_pki(root: Path) -> StandInPki:
    """A fresh CA and a leaf for `HOSTNAMES` (and 127.0.0.1), written under `root`."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "liveavatar rehearsal CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in HOSTNAMES]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, GEMINI_HOST)]))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    cert_dir = root / "stand-in-cert"
    cert_dir.mkdir(parents=True, exist_ok=True)
    (cert_dir / KEY_NAME).write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (cert_dir / CERT_NAME).write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    bundle = root / "trust-store.pem"
    bundle.write_bytes(ca.public_bytes(pem))
    return StandInPki(cert_dir, bundle)
