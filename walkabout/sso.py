"""The web side of single sign-on: Authlib's OpenID Connect client for the trust's provider.

Authlib does the protocol: discovery, the authorization code flow with PKCE
(S256), `state` and `nonce` kept in the Flask session and checked once, and the
ID token's signature (keys from the provider's JWKS), issuer, audience, expiry
and issue time, with OIDC_CLOCK_SKEW_SECONDS of leeway. Linking the verified
claims to a user is `services/identities.py`.
"""

from urllib.parse import urlencode

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, url_for
from joserfc.errors import JoseError

from .services.identities import LinkPolicy

EXTENSION = "walkabout_oidc"
CLIENT = "provider"


class ProviderFailed(Exception):
    """The sign-in at the provider did not give Walkabout a valid ID token; the message says why."""


def init_app(app: Flask) -> None:
    """Register the provider's client when WALKABOUT_OIDC_ISSUER is set (metadata is fetched on first use)."""
    config = app.config
    if not config["OIDC_ISSUER"]:
        return
    oauth = OAuth(app)
    oauth.register(
        CLIENT,
        client_id=config["OIDC_CLIENT_ID"],
        client_secret=config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{config['OIDC_ISSUER']}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "timeout": config["OIDC_TIMEOUT_SECONDS"],
        },
    )
    app.extensions[EXTENSION] = oauth


def enabled() -> bool:
    return EXTENSION in current_app.extensions


def _client():
    client = current_app.extensions[EXTENSION].create_client(CLIENT)
    metadata = client.load_server_metadata()
    if metadata.get("issuer") != current_app.config["OIDC_ISSUER"]:
        # OpenID Connect Discovery 1.0, section 4.3: the document must name the issuer asked for.
        raise ProviderFailed("The identity provider's discovery document names another issuer.")
    return client


def callback_url() -> str:
    return current_app.config["BASE_URL"] + url_for("sso.callback")


def start():
    """The redirect to the provider's sign-in page (a new state, nonce and PKCE verifier)."""
    try:
        return _client().authorize_redirect(callback_url())
    except (requests.RequestException, ValueError) as error:
        raise ProviderFailed(
            "The identity provider cannot be reached just now. Try again shortly."
        ) from error


def finish() -> dict:
    """The verified claims of the ID token the provider sent back to this browser; ProviderFailed if none."""
    config = current_app.config
    issuer = config["OIDC_ISSUER"]
    claims_options = {
        "iss": {"essential": True, "value": issuer},
        "sub": {"essential": True},
        # Authlib checks `azp` but not that `aud` names this client (OpenID Connect Core 3.1.3.7).
        "aud": {"essential": True, "values": [config["OIDC_CLIENT_ID"]]},
        "exp": {"essential": True},
        "iat": {"essential": True},
    }
    try:
        token = _client().authorize_access_token(
            claims_options=claims_options, leeway=config["OIDC_CLOCK_SKEW_SECONDS"]
        )
    except OAuthError as error:
        if error.error == "access_denied":
            raise ProviderFailed("Sign-in was cancelled at the identity provider.") from error
        raise ProviderFailed(
            "This sign-in link was already used or has expired. Start again from the sign-in page."
        ) from error
    except JoseError as error:
        current_app.logger.warning("ID token refused: %s", error)
        raise ProviderFailed("The identity provider's answer could not be verified. Try again.") from error
    except (requests.RequestException, ValueError) as error:
        raise ProviderFailed(
            "The identity provider cannot be reached just now. Try again shortly."
        ) from error
    claims = token.get("userinfo")
    if not claims:
        raise ProviderFailed("The identity provider sent no ID token. Try again.")
    return dict(claims)


def link_policy() -> LinkPolicy:
    config = current_app.config
    return LinkPolicy(
        issuer=config["OIDC_ISSUER"],
        tenant=config["OIDC_TENANT"],
        tenant_claim=config["OIDC_TENANT_CLAIM"],
        email_verified_claim=config["OIDC_EMAIL_VERIFIED_CLAIM"],
        create_users=config["OIDC_CREATE_USERS"],
    )


def end_session_url() -> str | None:
    """The provider's end-session (RP-initiated logout) address, coming back to the sign-in page."""
    if not enabled():
        return None
    try:
        endpoint = _client().server_metadata.get("end_session_endpoint")
    except (ProviderFailed, requests.RequestException, ValueError):
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "client_id": current_app.config["OIDC_CLIENT_ID"],
            "post_logout_redirect_uri": current_app.config["BASE_URL"] + url_for("auth.login"),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
