"""Who may call: the API key (header or Bearer token), dashboard sessions, login CSRF, lockout.

The dashboard's cookie never holds the API key: it holds a session token signed with HMAC-SHA256
under a secret made when the process starts (so a restart logs everyone out), with its expiry
inside the signed text. The login form carries a signed token that must equal its cookie twin
(double submit). Wrong keys are counted per client address: after ``LIMIT`` in ``WINDOW``
seconds every further key attempt from that address gets 429 with ``Retry-After``, right or
wrong, until the oldest failure ages out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict, deque

from fastapi import Request  # at runtime: require_key is a dependency FastAPI inspects
from starlette.exceptions import HTTPException

KEY_HEADER = "X-API-Key"
SESSION_COOKIE = "riskwatch_session"
CSRF_COOKIE = "riskwatch_csrf"
SESSION_SECONDS = 8 * 3600
CSRF_SECONDS = 3600
LIMIT = 5
WINDOW = 60.0
MAX_CLIENTS = 10_000


class Auth:
    """The key check, session and CSRF tokens, and the wrong-key counter of one app."""

    def __init__(self, api_key: str | None, secret: bytes | None = None) -> None:
        self.api_key = api_key
        self._secret = secret or secrets.token_bytes(32)
        self._key_id = hashlib.sha256((api_key or "").encode()).hexdigest()[:16]
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    # -- tokens ------------------------------------------------------------------------------
    def _sign(self, purpose: str, text: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}|{self._key_id}|{text}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")

    def token(self, purpose: str, seconds: int) -> str:
        """A signed token ``expiry.nonce.mac`` for ``purpose`` ("session" or "csrf")."""
        text = f"{int(time.time()) + seconds}.{secrets.token_urlsafe(16)}"
        return f"{text}.{self._sign(purpose, text)}"

    def valid(self, purpose: str, token: str | None) -> bool:
        """Is ``token`` one this process signed for ``purpose``, and not expired?"""
        if not token or len(token) > 200 or token.count(".") != 2:
            return False
        text, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._sign(purpose, text).encode()):
            return False
        expiry = text.split(".", 1)[0]
        return expiry.isdigit() and int(expiry) > time.time()

    # -- keys --------------------------------------------------------------------------------
    def key_matches(self, given: str) -> bool:
        """Constant-time comparison; any key matches when none is configured."""
        if self.api_key is None:
            return True
        return hmac.compare_digest(given.encode(), self.api_key.encode())

    def check_key(self, client: str, given: str) -> bool:
        """Check a key a client sent, counting wrong ones.

        Raises:
            HTTPException: 429 (with ``Retry-After``) while the client is locked out.
        """
        wait = self.retry_after(client)
        if wait is not None:
            raise HTTPException(
                429,
                f"too many wrong keys from this address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if self.key_matches(given):
            return True
        with self._lock:
            seen = self._failures.pop(client, None) or deque(maxlen=LIMIT)
            seen.append(time.monotonic())
            self._failures[client] = seen  # most recent last
            while len(self._failures) > MAX_CLIENTS:
                self._failures.popitem(last=False)
        return False

    def retry_after(self, client: str) -> int | None:
        """Seconds until ``client`` may try a key again (None: it may now)."""
        with self._lock:
            seen = self._failures.get(client)
            if not seen:
                return None
            now = time.monotonic()
            while seen and now - seen[0] >= WINDOW:
                seen.popleft()
            if not seen:
                del self._failures[client]
                return None
            if len(seen) < LIMIT:
                return None
            return max(1, math.ceil(seen[0] + WINDOW - now))


def client_of(request: Request) -> str:
    """The client's address (the proxy's view only when ``serve --trust-proxy`` says so)."""
    return request.client.host if request.client else "unknown"


def given_key(request: Request) -> str:
    """The key a request carries in ``X-API-Key`` or a Bearer token ('' when none)."""
    bearer = request.headers.get("authorization", "")
    return request.headers.get(KEY_HEADER) or (
        bearer[7:] if bearer.lower().startswith("bearer ") else ""
    )


def auth_of(request: Request) -> Auth:
    """The app's :class:`Auth`."""
    auth: Auth = request.app.state.auth
    return auth


def authorised(request: Request) -> bool:
    """Does the request carry the key, or a valid dashboard session?

    Raises:
        HTTPException: 429 while the client is locked out for wrong keys.
    """
    auth = auth_of(request)
    if auth.api_key is None:
        return True
    key = given_key(request)
    if key:
        return auth.check_key(client_of(request), key)
    return auth.valid("session", request.cookies.get(SESSION_COOKIE))


async def require_key(request: Request) -> None:
    """A dependency: 401 unless the request carries the key (429 while locked out)."""
    if not authorised(request):
        raise HTTPException(401, f"missing or wrong {KEY_HEADER} header")
