"""DNS rebinding, framing and gated endpoints (dashboard/server_guard.py): the rules alone, then real servers.

The server tests start `streamlit run app.py` on loopback addresses and open a session over the WebSocket as a
browser would (a rerun request, then the script's messages until it finishes), because the guard is installed
by the first page run.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import streamlit as st
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from dashboard import server_guard
from tests.test_access import chromium_page, start_server, stop
from tests.test_browser import free_port

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "a-long-random-secret-for-tests"
UPLOAD_REFUSED = "uploads are refused"


@pytest.mark.parametrize("host", ["localhost", "localhost:8501", "127.0.0.1:8501", "[::1]:8501", "LOCALHOST.",
                                  "lab.example.org", "a.shared.example.org:80"])
def test_loopback_and_configured_hosts_are_allowed(host):
    assert server_guard.host_allowed(host, ["lab.example.org", "*.shared.example.org"])


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8501", "localhost.evil.example", "127.0.0.1.nip.io",
                                  "user@localhost", "localhost:99999", "localhost/x", "", None, "shared.example.org"])
def test_foreign_and_malformed_hosts_are_refused(host):
    assert not server_guard.host_allowed(host, ["lab.example.org", "*.shared.example.org"])


def scope(path: str, host: str = "127.0.0.1:8501") -> dict:
    return {"type": "http", "path": path, "headers": [(b"host", host.encode())]}


def test_uploads_and_metrics_wait_for_the_gate():
    refused_everywhere = server_guard.refusal(scope("/_stcore/upload_file/abc/def"), lambda session: False)
    assert refused_everywhere and UPLOAD_REFUSED in refused_everywhere
    assert server_guard.refusal(scope("/_stcore/upload_file/abc/def"), lambda session: session == "abc") is None
    assert "metrics" in server_guard.refusal(scope("/base/_stcore/metrics"), lambda session: session is not None)
    assert server_guard.refusal(scope("/_stcore/health"), lambda session: False) is None
    assert "evil.example" in server_guard.refusal(scope("/", "evil.example"), lambda session: True)


def through_guard(method: str, path: str, size: int | None = None, answer: int = 204) -> tuple[int, bytes]:
    """One request through the guard in front of an app that answers `answer`; the status and body sent back."""
    sent = []

    async def app(_app, scope, receive, send):
        await send({"type": "http.response.start", "status": answer, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    headers = [(b"host", b"127.0.0.1:8501")] + ([(b"content-length", str(size).encode())] if size is not None else [])
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    asyncio.run(server_guard.guarded(app, lambda session: True)(None, scope, None, send))
    return sent[0]["status"], b"".join(message.get("body", b"") for message in sent[1:])


def test_a_session_holds_at_most_four_upload_limits_of_files(monkeypatch):
    monkeypatch.setattr(server_guard, "LEDGER", server_guard.UploadLedger())
    limit = server_guard.UploadLedger.limit()
    assert limit == server_guard.HELD_UPLOADS_FACTOR * st.get_option("server.maxUploadSize") * 2**20
    part = limit // 4
    for number in range(4):
        assert through_guard("PUT", f"/_stcore/upload_file/s1/f{number}", part)[0] == 204
    status, body = through_guard("PUT", "/_stcore/upload_file/s1/f4", part)
    assert status == 403 and b"already holds" in body
    assert through_guard("PUT", "/_stcore/upload_file/s2/f0", part)[0] == 204, "each session has its own allowance"
    assert through_guard("DELETE", "/_stcore/upload_file/s1/f0")[0] == 204
    assert through_guard("PUT", "/_stcore/upload_file/s1/f4", part, answer=400)[0] == 400, "a failed upload"
    assert through_guard("PUT", "/_stcore/upload_file/s1/f4", part)[0] == 204, "... was not counted"
    assert b"state its size" in through_guard("PUT", "/_stcore/upload_file/s1/f5")[1]


# Real servers ------------------------------------------------------------------------------------------------------

def start(address: str | None, home: Path, token: str | None = None) -> tuple[subprocess.Popen, int]:
    process, url = start_server(address, home, token)
    return process, int(url.rsplit(":", 1)[1])


def visit(address: str, port: int, query: str = "") -> str:
    """Open a session as a browser does and wait until its page has run; returns the session's id."""
    from websockets.sync.client import connect
    with connect(f"ws://{address}:{port}/_stcore/stream", subprotocols=["streamlit"], open_timeout=30) as socket_:
        message = BackMsg()
        message.rerun_script.query_string = query
        socket_.send(message.SerializeToString())
        session = ""
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(socket_.recv(timeout=90))
            if forward.WhichOneof("type") == "new_session":
                session = forward.new_session.initialize.session_id
            if forward.WhichOneof("type") == "script_finished":
                return session


def raw_request(address: str, port: int, lines: list[str]) -> tuple[int, dict[str, str], str]:
    """Status, headers (lower-case names) and body of one request sent as written (any Host header)."""
    with socket.create_connection((address, port), timeout=30) as connection:
        closing = [] if any(line.startswith("Connection:") for line in lines) else ["Connection: close"]
        connection.sendall(("\r\n".join([*lines, *closing, "", ""])).encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
            if b"101 Switching Protocols" in answer:
                break
    head, _, body = answer.decode("latin-1").partition("\r\n\r\n")
    status_line, *header_lines = head.split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


def get(address: str, port: int, path: str, host: str) -> tuple[int, dict[str, str], str]:
    return raw_request(address, port, [f"GET {path} HTTP/1.1", f"Host: {host}"])


def websocket_status(address: str, port: int, host: str) -> int:
    return raw_request(address, port, ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
                                       "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                       "Sec-WebSocket-Version: 13", "Sec-WebSocket-Protocol: streamlit"])[0]


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    process, port = start(None, tmp_path_factory.mktemp("home"))
    yield port
    stop(process)


@pytest.mark.slow
def test_a_foreign_host_is_refused_on_the_page_and_the_websocket(local_server):
    port = local_server
    assert websocket_status("127.0.0.1", port, "evil.example") == 403, "refused before any page has run"
    visit("127.0.0.1", port)
    for host in ("evil.example", f"evil.example:{port}", f"localhost.evil.example:{port}"):
        status, headers, body = get("127.0.0.1", port, "/", host)
        assert status == 403 and "not one this dashboard answers to" in body
        assert websocket_status("127.0.0.1", port, host) == 403
    assert get("127.0.0.1", port, "/_stcore/metrics", "evil.example")[0] == 403
    assert websocket_status("127.0.0.1", port, f"127.0.0.1:{port}") == 101


@pytest.mark.slow
def test_every_answer_forbids_framing_by_other_origins(local_server):
    port = local_server
    visit("127.0.0.1", port)
    for path, host in (("/", f"127.0.0.1:{port}"), ("/", f"localhost:{port}"), ("/_stcore/health", f"[::1]:{port}"),
                       ("/no-such-page", f"127.0.0.1:{port}"), ("/", "evil.example")):
        status, headers, _ = get("127.0.0.1", port, path, host)
        assert status == (403 if host == "evil.example" else 200)
        assert headers["x-frame-options"] == "SAMEORIGIN"
        assert headers["content-security-policy"] == "frame-ancestors 'self'"


@pytest.mark.slow
def test_a_shared_server_takes_uploads_and_serves_metrics_only_after_the_token(tmp_path):
    address = "127.0.0.2"
    process, port = start(address, tmp_path / "home", TOKEN)
    try:
        stranger = visit(address, port)
        upload = [f"PUT /_stcore/upload_file/{stranger}/f1 HTTP/1.1", f"Host: {address}:{port}",
                  "Content-Type: multipart/form-data; boundary=x", f"Content-Length: {50 * 2**20}"]
        status, _, body = raw_request(address, port, upload)
        assert status == 403 and UPLOAD_REFUSED in body, "refused before its 50 MiB body is read"
        assert get(address, port, "/_stcore/metrics", f"{address}:{port}")[0] == 403
        member = visit(address, port, f"token={TOKEN}")
        status, _, body = raw_request(address, port, [f"PUT /_stcore/upload_file/{member}/f1 HTTP/1.1",
                                                      f"Host: {address}:{port}", "Content-Length: 0"])
        assert UPLOAD_REFUSED not in body, "a session that gave the token reaches Streamlit's own upload checks"
        assert UPLOAD_REFUSED in raw_request(address, port, upload)[2]
    finally:
        stop(process)


def served(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait until a helper server answers (polling, as wait_for_health does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer")


@pytest.fixture(scope="module")
def chromium():
    """A Chromium page that resolves evil.example to 127.0.0.1, as a rebinding attacker's DNS would."""
    with chromium_page("--host-resolver-rules=MAP evil.example 127.0.0.1") as page:
        page.set_default_timeout(60_000)
        yield page


@pytest.fixture
def framing_site(tmp_path):
    """Another origin (localhost on a second port) whose page frames a given dashboard port: returns its URL."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def page_framing(dashboard_port: int) -> str:
        (tmp_path / "frame.html").write_text(f'<iframe id="target" src="http://127.0.0.1:{dashboard_port}/" '
                                             'width="1200" height="800"></iframe>')
        served(f"http://localhost:{port}/frame.html", server)
        return f"http://localhost:{port}/frame.html"

    yield page_framing
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.browser
def test_chromium_refuses_a_rebound_name_and_a_cross_origin_frame(local_server, chromium, framing_site):
    port = local_server
    visit("127.0.0.1", port)
    response = chromium.goto(f"http://evil.example:{port}/")
    assert response.status == 403 and "not one this dashboard answers to" in chromium.content()
    refused = lambda message: "frame-ancestors" in message.text or "X-Frame-Options" in message.text  # noqa: E731
    with chromium.expect_console_message(refused, timeout=30_000) as message:
        chromium.goto(framing_site(port))
    assert "has been blocked" in message.value.text
    assert chromium.frame_locator("#target").locator("[data-testid=stApp]").count() == 0


@pytest.mark.browser
def test_the_first_page_of_a_fresh_server_empties_itself_inside_another_site(chromium, framing_site, tmp_path):
    """Before its first page run the server sends no framing headers; the page's own check takes over."""
    process, port = start(None, tmp_path / "home")
    try:
        chromium.goto(framing_site(port))
        frame = chromium.frame_locator("#target")
        frame.get_by_text("cannot be shown inside another site").wait_for()
        assert frame.locator("[data-testid=stApp]").count() == 0
        chromium.goto(f"http://127.0.0.1:{port}/")
        chromium.get_by_role("button", name="Try the demo dataset").wait_for()
    finally:
        stop(process)
