"""Refusals the Streamlit server cannot be configured to make: foreign Host names, framing, gated endpoints.

A web page the user visits can rebind its own name to 127.0.0.1 (DNS rebinding) and then talk to the dashboard
as "evil.example"; another origin can frame it and trick clicks onto its Delete buttons. Streamlit 1.67 checks
`server.allowedHosts` (set to the loopback names in .streamlit/config.toml) on its WebSocket only, answers `/`,
uploads and `/_stcore/metrics` for any Host, sends no framing headers, and takes uploads from sessions that
never gave the access token. `streamlit run` has no setting for any of that and no way to add middleware (only
`st.App`, which would turn app.py into an ASGI module), so the dashboard wraps the ASGI entry point of Starlette,
the server Streamlit runs, the first time a page runs in this process. From then on every request:

- whose Host is not a loopback name nor in `server.allowedHosts` is refused (403; a WebSocket is closed
  before it opens, which the server answers with 403);
- that is an upload or a metrics request from a session the page gate has not let in is refused (403) before
  its body is read, and so is an upload that would make its session hold more than HELD_UPLOADS_FACTOR times
  `server.maxUploadSize` (Streamlit keeps uploaded files in memory until the page deletes them);
- gets `X-Frame-Options: SAMEORIGIN` and `Content-Security-Policy: frame-ancestors 'self'`.

Before the first page run in a process only Streamlit's own WebSocket Host check applies, and the first page
load after a server start carries no framing headers; that page checks for itself (access.FRAME_CHECK) and
empties itself inside another site's frame.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import streamlit as st
from starlette.applications import Starlette

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
FRAME_HEADERS = ((b"x-frame-options", b"SAMEORIGIN"), (b"content-security-policy", b"frame-ancestors 'self'"))
UPLOAD_PATH = re.compile(r"(?:/.*)?/_stcore/upload_file/([^/]+)(?:/([^/]*))?")
METRICS_PATH = re.compile(r"(?:/.*)?/_stcore/metrics")

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
SessionCheck = Callable[[str | None], bool]
MiB = 2**20
HELD_UPLOADS_FACTOR = 4


class UploadLedger:
    """Bytes of uploaded files each session holds in the server's memory, from the uploads and deletes that
    succeeded (the server's event loop is one thread, so no lock)."""

    def __init__(self) -> None:
        self.held: dict[str, dict[str, int]] = {}

    @staticmethod
    def limit() -> int:
        return HELD_UPLOADS_FACTOR * int(st.get_option("server.maxUploadSize")) * MiB

    def refusal(self, method: str, session: str, size: int | None) -> str | None:
        if method != "PUT":
            return None
        if size is None:
            return "an upload must state its size (Content-Length)"
        held = sum(self.held.get(session, {}).values())
        if held + size > self.limit():
            return (f"this session already holds {held / MiB:.0f} MiB of uploads and may hold "
                    f"{self.limit() / MiB:.0f} MiB; remove a file or reload the page")
        return None

    def settle(self, method: str, session: str, file_id: str, size: int | None, status: int) -> None:
        if status >= 300:
            return
        files = self.held.setdefault(session, {})
        if method == "PUT":
            files[file_id] = size or 0
        elif method == "DELETE":
            files.pop(file_id, None)


LEDGER = UploadLedger()


def host_name(host_header: str | None) -> str | None:
    """The name in a Host header, lower case, without port or trailing dot; None when it is not a plain host."""
    if not host_header:
        return None
    try:
        parts = urlsplit(f"//{host_header}")
        parts.port  # noqa: B018 - reading it validates the port
    except ValueError:
        return None
    if not parts.hostname or parts.username or parts.password or parts.path or parts.query or parts.fragment:
        return None
    return parts.hostname.lower().rstrip(".")


def host_allowed(host_header: str | None, configured: list[str] | tuple[str, ...]) -> bool:
    """Whether a Host header names this computer (loopback) or a host configured in `server.allowedHosts`.

    Same patterns as Streamlit's own WebSocket check: `*` allows any, `*.example.org` a subdomain."""
    name = host_name(host_header)
    if name is None:
        return False
    for pattern in (*LOOPBACK_NAMES, *configured):
        pattern = pattern.strip().lower().rstrip(".").strip("[]")
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


def refusal(scope: Scope, may_use_gated: SessionCheck) -> str | None:
    """Why this request is refused, or None. `may_use_gated(session_id)` says whether the access gate lets a
    session (None: a request that names none) upload files and read metrics."""
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host_allowed(host, tuple(st.get_option("server.allowedHosts") or ())):
        return f"the host name {host[:100]!r} is not one this dashboard answers to (server.allowedHosts)"
    path = scope.get("path", "")
    upload = UPLOAD_PATH.fullmatch(path)
    if upload and not may_use_gated(upload.group(1)):
        return "uploads are refused until this session has given the access token"
    if upload:
        return LEDGER.refusal(scope.get("method", ""), upload.group(1), declared_size(headers))
    if METRICS_PATH.fullmatch(path) and not may_use_gated(None):
        return "metrics are refused on a shared server"
    return None


def declared_size(headers: dict[bytes, bytes]) -> int | None:
    value = headers.get(b"content-length", b"")
    return int(value) if value.isdigit() else None


def settled_uploads(scope: Scope, send: Send) -> Send:
    """`send` that records, once the response starts, what a successful upload or delete changed."""
    upload = UPLOAD_PATH.fullmatch(scope.get("path", ""))
    if not upload:
        return send
    size = declared_size(dict(scope.get("headers") or []))

    async def send_settled(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            LEDGER.settle(scope.get("method", ""), upload.group(1), upload.group(2) or "", size, message["status"])
        await send(message)
    return send_settled


def with_frame_headers(send: Send) -> Send:
    """`send` that adds the framing headers to the response's start (keeping any the route set itself)."""
    async def send_framed(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [header for header in FRAME_HEADERS if header[0] not in present]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)
    return send_framed


async def refuse(scope: Scope, send: Send, reason: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": "refused"})
        return
    body = f"Forbidden: {reason}.\n".encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *FRAME_HEADERS]})
    await send({"type": "http.response.body", "body": body})


def guarded(entry: Callable[..., Awaitable[None]], may_use_gated: SessionCheck) -> Callable[..., Awaitable[None]]:
    """Starlette's `__call__` wrapped with the checks above (lifespan messages pass through untouched)."""
    async def call(app: Starlette, scope: Scope, receive: Any, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await entry(app, scope, receive, send)
            return
        reason = refusal(scope, may_use_gated)
        if reason is not None:
            await refuse(scope, send, reason)
            return
        if scope["type"] == "http":
            send = with_frame_headers(settled_uploads(scope, send))
        await entry(app, scope, receive, send)
    call.textclf_guard = True
    call.__wrapped__ = entry
    return call


def install(may_use_gated: SessionCheck) -> bool:
    """Wrap Starlette's entry point once per process; True the first time. Runs at every page run (cheap)."""
    if getattr(Starlette.__call__, "textclf_guard", False):
        return False
    Starlette.__call__ = guarded(Starlette.__call__, may_use_gated)
    return True
