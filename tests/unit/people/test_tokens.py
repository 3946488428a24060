"""Token attacks against the verifier: every one is 401, and the JWKS is not hammered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from shared.auth.principal import Role
from shared.auth.tokens import TokenUse, bearer_token
from shared.errors import Unauthenticated
from tests.unit.people.conftest import CLIENT, Clock, FakeJwks, KeyPair, claims, make_verifier, sign


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(signature)


def test_a_genuine_id_token_yields_its_principal(jwks: FakeJwks, clock: Clock, key: KeyPair) -> None:
    # Given an ID token of the pool and client with tenant, employee and groups
    token = sign(key, claims(**{"custom:employee_id": "e-1", "cognito:groups": ["employee", "staff"]}))
    # When it is verified
    p = make_verifier(jwks, clock).principal(f"Bearer {token}")
    # Then the principal carries them; an unknown group grants nothing
    assert (p.tenant_id, p.employee_id, p.roles) == ("t-1", "e-1", frozenset({Role.EMPLOYEE}))


def test_alg_none_is_refused(jwks: FakeJwks, clock: Clock) -> None:
    # Given a token with alg=none and no signature
    token = unsigned({"alg": "none", "kid": "kid-1"}, claims())
    # When / Then
    with pytest.raises(Unauthenticated):
        make_verifier(jwks, clock).principal(f"Bearer {token}")


def test_hs256_signed_with_the_public_key_is_refused(jwks: FakeJwks, clock: Clock, key: KeyPair) -> None:
    # Given a token HMAC-signed with the pool's public key as the secret (key confusion)
    public_pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "kid": "kid-1", "typ": "JWT"}
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims()).encode())
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    token = signing_input + "." + b64(mac)
    # When / Then
    with pytest.raises(Unauthenticated):
        make_verifier(jwks, clock).principal(f"Bearer {token}")


@pytest.mark.parametrize(
    "bad",
    [
        {"iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OTHERPOOL"},
        {"aud": "another-client"},
        {"exp": int(time.time()) - 120},
        {"custom:tenant_id": None},
        {"token_use": "refresh"},
    ],
    ids=["wrong-issuer", "another-client", "expired", "no-tenant", "wrong-token-use"],
)
def test_tokens_with_a_wrong_claim_are_refused(
    jwks: FakeJwks, clock: Clock, key: KeyPair, bad: dict[str, Any]
) -> None:
    # Given a correctly signed token with one wrong claim
    payload = {k: v for k, v in (claims() | bad).items() if v is not None}
    # When / Then
    with pytest.raises(Unauthenticated):
        make_verifier(jwks, clock).principal(f"Bearer {sign(key, payload)}")


def test_an_id_token_is_refused_where_access_tokens_are_expected_and_the_reverse(
    jwks: FakeJwks, clock: Clock, key: KeyPair
) -> None:
    # Given a genuine ID token and a genuine access token (with the tenant a pre-token trigger adds)
    id_token = sign(key, claims("id"))
    access_token = sign(key, claims("access"))
    # When each meets the verifier configured for the other
    for token, accepted in ((id_token, TokenUse.ACCESS), (access_token, TokenUse.ID)):
        with pytest.raises(Unauthenticated):
            make_verifier(jwks, clock, accepted).principal(f"Bearer {token}")
    # Then each passes the verifier configured for it
    assert make_verifier(jwks, clock, TokenUse.ACCESS).principal(access_token).tenant_id == "t-1"
    assert make_verifier(jwks, clock, TokenUse.ID).principal(id_token).tenant_id == "t-1"


def test_an_access_token_of_another_client_is_refused(jwks: FakeJwks, clock: Clock, key: KeyPair) -> None:
    token = sign(key, claims("access", client_id="another-client"))
    with pytest.raises(Unauthenticated):
        make_verifier(jwks, clock, TokenUse.ACCESS).principal(token)


def test_a_token_expired_within_the_leeway_passes_and_beyond_it_fails(
    jwks: FakeJwks, clock: Clock, key: KeyPair
) -> None:
    # Given tokens that expired 10 s and 60 s ago (leeway 30 s)
    verifier = make_verifier(jwks, clock)
    recent = sign(key, claims(exp=int(time.time()) - 10))
    older = sign(key, claims(exp=int(time.time()) - 60))
    # When / Then
    assert verifier.principal(recent).tenant_id == "t-1"
    with pytest.raises(Unauthenticated):
        verifier.principal(older)


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(jwks: FakeJwks, clock: Clock) -> None:
    forger = KeyPair("kid-1")
    with pytest.raises(Unauthenticated):
        make_verifier(jwks, clock).principal(sign(forger, claims()))


def test_an_unknown_kid_flood_costs_at_most_one_jwks_refetch(
    jwks: FakeJwks, clock: Clock, key: KeyPair
) -> None:
    # Given a warm verifier (the keys fetched once)
    verifier = make_verifier(jwks, clock)
    verifier.principal(sign(key, claims()))
    forger = KeyPair("x")
    # When a thousand tokens arrive with random kids
    refused = 0
    for _ in range(1000):
        try:
            verifier.principal(sign(forger, claims(), kid=str(uuid.uuid4())))
        except Unauthenticated:
            refused += 1
    # Then all are refused and the JWKS was fetched again at most once
    assert refused == 1000
    assert jwks.fetches <= 2


def test_a_rotated_key_is_picked_up_after_the_refetch_interval(
    jwks: FakeJwks, clock: Clock, key: KeyPair
) -> None:
    # Given a warm verifier and a new key the pool starts signing with
    verifier = make_verifier(jwks, clock)
    verifier.principal(sign(key, claims()))
    new = KeyPair("kid-2")
    jwks.keys.append(new)
    # When a token of the new key arrives within the interval, and again after it
    with pytest.raises(Unauthenticated):
        verifier.principal(sign(new, claims()))
    clock.now += 301
    accepted = verifier.principal(sign(new, claims()))
    # Then it is accepted once the interval passed, with exactly one refetch
    assert accepted.tenant_id == "t-1"
    assert jwks.fetches == 2


def test_when_the_jwks_cannot_be_had_tokens_are_refused(jwks: FakeJwks, clock: Clock, key: KeyPair) -> None:
    # Given a cold verifier and a JWKS endpoint that is down
    jwks.down = True
    verifier = make_verifier(jwks, clock)
    # When a genuine token arrives
    with pytest.raises(Unauthenticated):
        verifier.principal(sign(key, claims()))
    # Then it is refused (fail closed); once the endpoint is back and the retry delay passed, it works
    jwks.down = False
    clock.now += 6
    assert verifier.principal(sign(key, claims())).tenant_id == "t-1"


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer a b", "Bearer not.a.jwt"]
)
def test_missing_or_malformed_authorization_is_refused(
    jwks: FakeJwks, clock: Clock, header: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        make_verifier(jwks, clock).principal(header)


def test_a_bare_token_without_scheme_is_read_as_api_gateway_passes_it() -> None:
    assert bearer_token("abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"


def test_the_client_constant_is_what_tokens_name() -> None:
    assert claims()["aud"] == CLIENT


def test_a_key_the_pool_withdrew_stops_working_once_the_key_set_is_refreshed(
    jwks: FakeJwks, clock: Clock, key: KeyPair
) -> None:
    # Given a warm verifier, and the pool then withdraws its key for a new one
    verifier = make_verifier(jwks, clock)
    verifier.principal(sign(key, claims()))
    jwks.keys = [KeyPair("kid-2")]
    # When a token of the old key arrives before and after the key set's maximum age
    still = verifier.principal(sign(key, claims()))
    clock.now += 3601
    # Then it works until the refresh, and is refused after it
    assert still.tenant_id == "t-1"
    with pytest.raises(Unauthenticated):
        verifier.principal(sign(key, claims()))


def test_known_keys_keep_working_when_the_refresh_fails(jwks: FakeJwks, clock: Clock, key: KeyPair) -> None:
    verifier = make_verifier(jwks, clock)
    verifier.principal(sign(key, claims()))
    jwks.down = True
    clock.now += 3601
    assert verifier.principal(sign(key, claims())).tenant_id == "t-1"
