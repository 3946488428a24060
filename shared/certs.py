"""Device certificate identity: one canonical (issuer DN, serial) for a certificate, wherever it comes from.

API Gateway hands the client certificate to the function as ``requestContext.identity.clientCert``;
its ``issuerDN`` / ``serialNumber`` strings have their own formatting, so the identity is computed
from ``clientCertPem`` itself, exactly as the directory computes it when a device is registered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from shared.errors import DeviceNotAuthorized


@dataclass(frozen=True, slots=True)
class CertIdentity:
    issuer: str
    serial: str  # lower-case hex, no separators, no leading zeros
    subject: str
    not_before: datetime
    not_after: datetime

    @property
    def cert_key(self) -> str:
        return cert_key(self.issuer, self.serial)


def cert_key(issuer: str, serial: str) -> str:
    """The device registry's partition key: a digest of issuer DN + serial (both canonical)."""
    return hashlib.sha256(f"{issuer}\n{serial}".encode()).hexdigest()


def normalize_serial(serial: str | int) -> str:
    if isinstance(serial, int):
        return format(serial, "x")
    return format(int(serial.replace(":", "").strip(), 16), "x")


def identity_from_pem(pem: str | bytes) -> CertIdentity:
    """Parse a PEM certificate into its canonical identity; raises ``ValueError`` if it is not one."""
    data = pem.encode() if isinstance(pem, str) else pem
    cert = x509.load_pem_x509_certificate(data)
    return CertIdentity(
        issuer=cert.issuer.rfc4514_string(),
        serial=normalize_serial(cert.serial_number),
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
    )


def identity_from_event(event: dict[str, Any]) -> CertIdentity:
    """The client certificate API Gateway verified for this request, or 403 ``device_not_authorized``."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    client_cert = identity.get("clientCert") or {}
    pem = client_cert.get("clientCertPem")
    if not pem:
        raise DeviceNotAuthorized("No client certificate was presented.")
    try:
        ident = identity_from_pem(pem)
    except ValueError as err:
        raise DeviceNotAuthorized("The client certificate could not be read.") from err
    now = datetime.now(UTC)
    if not ident.not_before <= now <= ident.not_after:
        raise DeviceNotAuthorized("The client certificate is not valid at this time.")
    return ident
