"""Real Cognito tokens (moto: RS256, JWKS served by the pool) against the handlers."""

from __future__ import annotations

import pytest

from functions.consent_api import handler as consent_api
from functions.directory_api import handler as directory_api
from tests.integration.people.conftest import PASSWORD, Api, Cognito, create_user_pool

pytestmark = pytest.mark.integration


def test_an_id_token_of_the_pool_and_client_is_accepted_by_default(people_api: Api, cognito: Cognito) -> None:
    # Given an admin signed in
    admin = cognito.user("t-ok", "admin")
    # When they call with their ID token
    status, body = people_api.get("/v1/teams", admin.id_token)
    # Then
    assert (status, body) == (200, {"items": [], "next_token": None})


def test_an_access_token_is_refused_when_id_tokens_are_expected(people_api: Api, cognito: Cognito) -> None:
    admin = cognito.user("t-acc", "admin")
    status, body = people_api.get("/v1/teams", admin.access_token)
    assert (status, body["error"]["code"]) == (401, "unauthenticated")


def test_with_access_tokens_configured_an_id_token_is_refused_and_a_tenantless_access_token_too(
    people_api: Api, cognito: Cognito, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the functions configured for access tokens (a pool without a pre-token trigger, whose
    # access tokens carry no custom:tenant_id)
    monkeypatch.setenv("ACCEPTED_TOKEN_USE", "access")
    directory_api.deps.cache_clear()
    consent_api.deps.cache_clear()
    admin = cognito.user("t-acc2", "admin")
    # When they call with each token
    with_id, _ = people_api.get("/v1/teams", admin.id_token)
    with_access, _ = people_api.get("/v1/teams", admin.access_token)
    # Then the ID token is the wrong kind and the access token names no tenant: both fail closed
    assert (with_id, with_access) == (401, 401)


def test_tokens_of_another_client_or_another_pool_are_refused(people_api: Api, cognito: Cognito) -> None:
    # Given a second app client of the same pool, and a second pool
    other_client = cognito.idp.create_user_pool_client(
        UserPoolId=cognito.pool_id, ClientName="other", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    admin = cognito.user("t-x", "admin")
    via_other_client = cognito.idp.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": admin.email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    pool2, client2 = create_user_pool("eu-west-1")
    stranger = Cognito(cognito.idp, pool2, client2).user("t-x", "admin")
    # When each calls the API
    a, _ = people_api.get("/v1/teams", via_other_client)
    b, _ = people_api.get("/v1/teams", stranger.id_token)
    # Then both are 401
    assert (a, b) == (401, 401)


@pytest.mark.parametrize("token", [None, "", "garbage", "Bearer"])
def test_a_missing_or_garbage_token_is_401_on_every_route(people_api: Api, token: str | None) -> None:
    for method, path in [
        ("GET", "/v1/teams"),
        ("POST", "/v1/teams"),
        ("GET", "/v1/me/consent"),
        ("DELETE", "/v1/me/consent"),
    ]:
        status, body = people_api.call(method, path, token, {"name": "x"} if method == "POST" else None)
        assert (status, body["error"]["code"]) == (401, "unauthenticated"), (method, path)
