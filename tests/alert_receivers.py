"""Real receivers on loopback for the alert tests: an HTTP server (webhook, Apprise json://) that
answers, fails with 500 or hangs, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server in a thread of the test process; ``mode``: ok, fail (500) or hang."""

    mode: str = "ok"
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path.split("?")[0] == path]

    def wait_for(self, n: int, path: str | None = None, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(path) if path else self.requests
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"expected {n} request(s) on {path or 'any path'}, got {len(got)}")


@contextmanager
def receiver(mode: str = "ok") -> Iterator[Receiver]:
    """A running :class:`Receiver`; a hanging one is released when the block ends."""
    rec = Receiver(mode)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            rec.requests.append(Received(self.path, dict(self.headers.items()), body))
            if rec.mode == "hang":
                rec.release.wait(120)
                return
            self.send_response(500 if rec.mode == "fail" else 200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    rec.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        rec.release.set()
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Messages an SMTP server on loopback accepted."""

    port: int = 0
    messages: list[Any] = field(default_factory=list)

    def wait_for(self, n: int, timeout: float = 30) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < n:
            time.sleep(0.05)
        assert len(self.messages) >= n, f"expected {n} e-mail(s), got {len(self.messages)}"
        return self.messages


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free loopback port, no TLS, no auth."""
    import email
    import email.policy

    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
            box.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
            return "250 Message accepted for delivery"

    from tests.conftest import free_port

    box.port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
