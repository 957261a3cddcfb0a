"""The Microsoft identity platform as MSAL sees it for client credentials.

MSAL, given an authority ``https://host/{tenant}`` and ``instance_discovery=False``, calls
``GET /{tenant}/v2.0/.well-known/openid-configuration`` then ``POST`` the advertised
``token_endpoint``. Access tokens are opaque here: Graph clients never read them, and the Graph
half of the emulator only checks that it issued them and that they have not expired.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TOKEN_LIFETIME_SECONDS = 3599  # what Entra ID answers for app-only Graph tokens
GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256")  # what Entra ID accepts for client assertions


def _error(code: str, aadsts: int, description: str) -> dict[str, Any]:
    return {
        "error": code,
        "error_description": f"AADSTS{aadsts}: {description}",
        "error_codes": [aadsts],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": secrets.token_hex(8),
        "correlation_id": secrets.token_hex(8),
    }


class Identity:
    """One tenant with registered confidential clients; issues and checks bearer tokens."""

    def __init__(self, tenant_id: str, client_id: str, client_secret: str) -> None:
        self.tenant_id = tenant_id
        self.clients = {client_id: client_secret}
        # client id -> (public key, SHA-1 and SHA-256 thumbprints, base64url) of its certificate
        self.certificates: dict[str, tuple[Any, str, str]] = {}
        self._tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic)
        self._lock = threading.Lock()

    def openid_configuration(self, base: str) -> dict[str, Any]:
        root = f"{base}/{self.tenant_id}"
        return {
            "issuer": f"{root}/v2.0",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "token id_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }

    def add_certificate(self, client_id: str) -> str:
        """Register a new certificate credential for ``client_id``; returns the PEM of its
        private key followed by the certificate (what an admin keeps for Rapport)."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rapport sync")])
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        self.certificates[client_id] = (
            key.public_key(),
            _b64(certificate.fingerprint(hashes.SHA1())),  # x5t: SHA-1 by definition
            _b64(certificate.fingerprint(hashes.SHA256())),
        )
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return (pem + certificate.public_bytes(serialization.Encoding.PEM)).decode("ascii")

    def _check_assertion(self, client_id: str, assertion: str, endpoint: str) -> str | None:
        """None if ``assertion`` is a valid client assertion of ``client_id`` for
        ``endpoint``, else why not (AADSTS700027-style)."""
        registered = self.certificates.get(client_id)
        if registered is None:
            return "no certificate is registered for the app"
        public_key, sha1, sha256 = registered
        try:
            header = jwt.get_unverified_header(assertion)
            named = [str(header.get(n, "")).rstrip("=") for n in ("x5t#S256", "x5t")]
            if named[0] not in ("", sha256) or named[1] not in ("", sha1) or named == ["", ""]:
                return "the assertion names a certificate the app does not have"
            jwt.decode(
                assertion,
                public_key,
                algorithms=list(ASSERTION_ALGORITHMS),
                audience=endpoint,
                issuer=client_id,
                options={"require": ["exp", "aud", "iss", "sub", "jti"]},
            )
        except jwt.PyJWTError as error:
            return f"client assertion failed signature validation: {error}"
        return None

    def token(self, form: dict[str, str], endpoint: str = "") -> tuple[int, dict[str, Any]]:
        """Answer a token request at ``endpoint`` (its URL): (HTTP status, JSON body)."""
        if form.get("grant_type") != "client_credentials":
            return 400, _error(
                "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
            )
        client_id = form.get("client_id", "")
        if client_id not in self.clients:
            return 400, _error(
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found.",
            )
        if form.get("client_assertion_type") == JWT_BEARER:
            problem = self._check_assertion(client_id, form.get("client_assertion", ""), endpoint)
            if problem:
                return 401, _error("invalid_client", 700027, problem)
        elif not secrets.compare_digest(form.get("client_secret", ""), self.clients[client_id]):
            return 401, _error("invalid_client", 7000215, "Invalid client secret provided.")
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return 400, _error(
                "invalid_scope", 1002012, f"The provided value for scope {scope} is not valid."
            )
        return 200, {
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": self.issue(),
        }

    def issue(self) -> str:
        token = "emu." + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + TOKEN_LIFETIME_SECONDS
        return token

    def expire_all(self) -> None:
        """Make every issued token fail, as after expiry or revocation."""
        with self._lock:
            self._tokens = dict.fromkeys(self._tokens, 0.0)

    def check(self, authorization: str | None) -> str | None:
        """None if the header carries a live token we issued, else Graph's error message."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "Access token is empty."
        with self._lock:
            expiry = self._tokens.get(token.strip())
        if expiry is None:
            return "IDX14100: JWT is not well formed."
        if expiry < time.monotonic():
            return "Lifetime validation failed, the token is expired."
        return None


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
