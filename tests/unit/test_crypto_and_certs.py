from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from infra_cdk.local.apigw import rest_event
from infra_cdk.local.pki import LocalCA
from shared.certs import identity_from_event, identity_from_pem, normalize_serial
from shared.crypto.fields import FieldCipher, FieldDecryptionError, associated_data
from shared.dynamo.ttl_cache import TtlCache
from shared.errors import DeviceNotAuthorized


def test_field_ciphertext_is_bound_to_key_and_row() -> None:
    key, other_key = os.urandom(32), os.urandom(32)
    aad = associated_data("t", "e", "row-1", "window_title")
    blob = FieldCipher(key).encrypt("Payroll.xlsx", aad)
    assert FieldCipher(key).decrypt(blob, aad) == "Payroll.xlsx"
    for wrong_key, wrong_aad in [
        (other_key, aad),
        (key, associated_data("t", "e2", "row-1", "window_title")),
        (key, associated_data("t", "e", "row-2", "window_title")),
        (key, associated_data("t", "e", "row-1", "url")),
    ]:
        with pytest.raises(FieldDecryptionError):
            FieldCipher(wrong_key).decrypt(blob, wrong_aad)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(FieldDecryptionError):
        FieldCipher(key).decrypt(tampered, aad)


def test_same_plaintext_encrypts_differently_each_time() -> None:
    cipher, aad = FieldCipher(os.urandom(32)), b"a"
    assert cipher.encrypt("x", aad) != cipher.encrypt("x", aad)


def test_certificate_identity_matches_between_registration_and_api_gateway() -> None:
    ca = LocalCA()
    issued = ca.issue("device-1")
    registered = identity_from_pem(issued.cert_pem)
    presented = identity_from_event(rest_event("GET", "/v1/agent/config", cert_pem=issued.cert_pem))
    assert registered.cert_key == presented.cert_key
    assert registered.serial == format(issued.serial, "x")
    assert normalize_serial("00:0a:ff") == "aff"


def test_missing_garbled_or_expired_certificates_are_not_authorized() -> None:
    ca = LocalCA()
    expired = ca.issue(
        "old",
        not_before=datetime.now(UTC) - timedelta(days=10),
        not_after=datetime.now(UTC) - timedelta(days=1),
    )
    garbled = rest_event("GET", "/x", cert_pem=ca.issue("d").cert_pem)
    garbled["requestContext"]["identity"]["clientCert"]["clientCertPem"] = (
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    events = [rest_event("GET", "/x"), garbled, rest_event("GET", "/x", cert_pem=expired.cert_pem)]
    for event in events:
        with pytest.raises(DeviceNotAuthorized):
            identity_from_event(event)


def test_ttl_cache_reloads_after_expiry() -> None:
    now = [0.0]
    cache: TtlCache[str, int] = TtlCache(5, clock=lambda: now[0])
    loads = []
    assert cache.get_or_load("k", lambda: loads.append(1) or 1) == 1
    assert cache.get_or_load("k", lambda: loads.append(2) or 2) == 1
    now[0] = 5.1
    assert cache.get_or_load("k", lambda: loads.append(3) or 3) == 3
    assert loads == [1, 3]


def test_nonces_never_repeat_across_many_encryptions() -> None:
    cipher, aad = FieldCipher(os.urandom(32)), b"a"
    nonces = {cipher.encrypt("x", aad)[1:13] for _ in range(5000)}
    assert len(nonces) == 5000
