"""Channels: any Apprise URL (Slack, Teams, e-mail, ntfy, Discord, PagerDuty, JSON, ...) and
riskwatch's own webhook, a versioned JSON payload signed like GitHub's and Stripe's webhooks.

Webhook signature (when ``[alerts.webhook] secret`` is set)::

    X-Riskwatch-Timestamp: 1767225600                  (Unix seconds when sent)
    X-Riskwatch-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes, compares in
constant time, and refuses timestamps older than a few minutes (replay). :func:`verify` does it.
URLs and secrets may be given as ``env:VAR`` or ``file:/path``; they are resolved only to send,
and never printed or logged: errors are cleaned of every part of the URL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from riskwatch import __version__

if TYPE_CHECKING:
    from riskwatch.alerts.messages import Message
    from riskwatch.config import AlertTarget

SIGNATURE = "X-Riskwatch-Signature"
TIMESTAMP = "X-Riskwatch-Timestamp"
TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    """A channel did not take the message (``retry``: worth trying again)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def resolve(ref: str, what: str = "URL") -> str:
    """The value behind a reference: ``env:VAR``, ``file:/path`` or the text itself.

    Raises:
        DeliveryError: the variable is unset or the file unreadable (named, value never shown).
    """
    if ref.startswith("env:"):
        value = os.environ.get(ref[4:], "").strip()
        if not value:
            raise DeliveryError(
                f"{what} from {ref}: the environment variable is not set", retry=False
            )
        return value
    if ref.startswith("file:"):
        try:
            value = Path(ref[5:]).expanduser().read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise DeliveryError(
                f"{what} from {ref}: cannot read the file ({type(exc).__name__})", retry=False
            ) from None
        if not value:
            raise DeliveryError(f"{what} from {ref}: the file is empty", retry=False)
        return value
    return ref


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 over ``b"<timestamp>." + body``."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    headers: Any,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Check a received webhook: signature over timestamp and body, timestamp recent enough."""
    try:
        stamp = int(headers.get(TIMESTAMP, ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), str(headers.get(SIGNATURE, "")))


def send(target: AlertTarget, message: Message, timeout: float) -> None:
    """Send ``message`` through one channel within ``timeout`` seconds.

    Raises:
        DeliveryError: the channel refused or did not answer (cleaned of secrets).
    """
    url = resolve(target.ref)
    try:
        if target.kind == "webhook":
            secret = resolve(target.secret, "secret") if target.secret else None
            _webhook(url, secret, message, timeout)
        else:
            _apprise(url, message, timeout)
    except DeliveryError as exc:
        raise DeliveryError(clean(str(exc), url), retry=exc.retry) from None
    except Exception as exc:  # a plugin's own error: keep the kind, never the URL
        raise DeliveryError(clean(f"{type(exc).__name__}: {exc}"[:300], url)) from None


def _webhook(url: str, secret: str | None, message: Message, timeout: float) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError("the webhook URL must start with http:// or https://", retry=False)
    body = json.dumps(message.payload, separators=(",", ":"), default=str).encode()
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"riskwatch/{__version__}",
        "X-Riskwatch-Event": str(message.payload.get("type", "riskwatch.alert")),
        "X-Riskwatch-Delivery": str(message.payload.get("id", "")),
        TIMESTAMP: str(stamp),
    }
    if secret:
        headers[SIGNATURE] = sign(secret, stamp, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            resp.read(1024)
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}", retry=retry) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"no answer: {reason}") from None


_captured = threading.local()


class _Capture(logging.Handler):
    """Keeps Apprise's log lines per sending thread (they explain a failure)."""

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(_captured, "lines", None)
        if lines is not None and record.levelno >= logging.WARNING:
            lines.append(record.getMessage())


def _apprise_logger() -> None:
    logger = logging.getLogger("apprise")
    if not any(isinstance(h, _Capture) for h in logger.handlers):
        logger.addHandler(_Capture())
        logger.propagate = False  # its lines end in our delivery records, not on stderr


def _apprise(url: str, message: Message, timeout: float) -> None:
    import apprise

    _apprise_logger()
    _captured.lines = []
    try:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise DeliveryError(
                "Apprise does not accept this URL (unknown scheme or bad form)", retry=False
            )
        for attr in ("socket_connect_timeout", "socket_read_timeout"):
            if hasattr(plugin, attr):
                setattr(plugin, attr, min(float(getattr(plugin, attr) or timeout), timeout))
        sender = apprise.Apprise()
        sender.add(plugin)
        ok = sender.notify(
            body=message.text,
            title=message.title,
            notify_type=message.notify_type,
            body_format="text",
        )
        if not ok:
            why = "; ".join(dict.fromkeys(_captured.lines)) or "the service refused the message"
            raise DeliveryError(why[:300])
    finally:
        _captured.lines = None


def clean(text: str, url: str) -> str:
    """``text`` with every credential, token, path part and query value of ``url`` masked."""
    parts = urlsplit(url)
    secrets = {url, parts.username or "", parts.password or ""}
    secrets.update(p for p in re.split(r"[/#]", parts.path) if p)
    secrets.update(v for _, v in parse_qsl(parts.query))
    host = parts.hostname or ""
    if "." not in host and host != "localhost":
        secrets.add(host)  # e.g. slack://TokenA/...: the "host" is a token
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
