"""The API key: a header, a Bearer token or the dashboard's session cookie."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.exceptions import HTTPException

KEY_HEADER = "X-API-Key"
KEY_COOKIE = "riskwatch_key"


def given_key(request: Request) -> str:
    """The key a request carries ('' when none)."""
    bearer = request.headers.get("authorization", "")
    return (
        request.headers.get(KEY_HEADER)
        or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
        or request.cookies.get(KEY_COOKIE, "")
    )


def key_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; any key matches when none is configured."""
    if expected is None:
        return True
    return hmac.compare_digest(given.encode(), expected.encode())


def authorised(request: Request) -> bool:
    """Does the request carry the configured key?"""
    return key_matches(given_key(request), request.app.state.rw.settings.api.api_key)


async def require_key(request: Request) -> None:
    """A dependency: 401 unless the request carries the key."""
    if not authorised(request):
        raise HTTPException(401, f"missing or wrong {KEY_HEADER} header")
