"""Who can reach the dashboard: this computer by default; another address only with the access token.

The server tests start real `streamlit run app.py` processes on loopback addresses only (127.0.0.1 and
127.0.0.2); the browser parts use Debian's Chromium and skip without it, like test_browser.py.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import access
from tests.hostile import IMAGE, LINK, TAG, hostile_csvs
from tests.test_browser import CHROMIUM, free_port, settle, wait_for_health

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "a-long-random-secret-for-tests"
REFUSAL = "serves nothing"


@pytest.fixture
def shared_address(monkeypatch):
    """The in-process config says the server listens on 127.0.0.2 (a loopback address other than 127.0.0.1)."""
    previous = st.get_option("server.address")
    st.config.set_option("server.address", "127.0.0.2")
    monkeypatch.delenv("TEXTCLF_TOKEN", raising=False)
    yield monkeypatch
    st.config.set_option("server.address", previous)


def home_page() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_a_shared_server_without_a_token_refuses_every_page(shared_address):
    for path in ("app.py", "pages/1_Data.py", "pages/5_History.py"):
        at = AppTest.from_file(str(ROOT / path), default_timeout=60).run()
        assert REFUSAL in at.error[0].value and "TEXTCLF_TOKEN" in at.error[0].value
        assert not at.button and not at.get("file_uploader") and not at.dataframe


def test_a_short_token_counts_as_none(shared_address):
    shared_address.setenv("TEXTCLF_TOKEN", "1234")
    assert REFUSAL in home_page().run().error[0].value


def test_a_shared_server_asks_for_the_token_and_lets_the_right_one_in(shared_address):
    shared_address.setenv("TEXTCLF_TOKEN", TOKEN)
    at = home_page().run()
    assert [t.label for t in at.text_input] == ["Access token"] and not at.button
    at.text_input[0].input("wrong token").run()
    assert "not the one" in at.error[0].value and not at.button
    at.text_input[0].input(TOKEN).run()
    assert not at.error and at.button and not at.text_input


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaaaaaa", "passwordpassword", "abababababababababababab"])
def test_a_long_but_repetitive_token_counts_as_none(shared_address, weak):
    shared_address.setenv("TEXTCLF_TOKEN", weak)
    assert REFUSAL in home_page().run().error[0].value
    assert access.token_bits(weak) < access.MIN_TOKEN_BITS <= access.token_bits(TOKEN)


def test_every_wrong_try_waits_its_turn_and_the_right_one_does_not(shared_address, monkeypatch):
    shared_address.setenv("TEXTCLF_TOKEN", TOKEN)
    waits = []
    record = SimpleNamespace(sleep=lambda seconds: waits.append((seconds, access._failed_tries.locked())))
    monkeypatch.setattr(access, "time", record)
    at = home_page().run()
    for guess in ("guess one", "guess two"):
        at.text_input[0].input(guess).run()
    assert waits == [(access.FAILED_TRY_SECONDS, True)] * 2
    at.text_input[0].input(TOKEN).run()
    assert len(waits) == 2 and at.button


def test_the_token_can_come_in_the_address(shared_address):
    shared_address.setenv("TEXTCLF_TOKEN", TOKEN)
    at = home_page()
    at.query_params["token"] = TOKEN
    at.run()
    assert not at.error and at.button and "token" not in at.query_params


def test_the_local_default_needs_no_token():
    assert st.get_option("server.address") == "127.0.0.1", "run the tests from the project folder"
    at = home_page().run()
    assert not at.error and at.button


# Real servers ------------------------------------------------------------------------------------------------------

def start_server(address: str | None, home: Path, token: str | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` as the README says (address and allowed hosts from .streamlit/config.toml unless
    an address is given, which is then the one allowed host name besides loopback)."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "TEXTCLF_TOKEN"}
    env.update({"TEXTCLF_HOME": str(home), **({"TEXTCLF_TOKEN": token} if token else {})})
    where = ["--server.address", address, "--server.allowedHosts", address] if address else []
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), *where,
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://{address or '127.0.0.1'}:{port}"
    try:
        wait_for_health(url, process)
    except BaseException:
        stop(process)
        raise
    return process, url


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def local_server(tmp_path_factory):
    process, url = start_server(None, tmp_path_factory.mktemp("home"))
    yield url
    stop(process)


@contextmanager
def chromium_page(*arguments: str):
    """One tall page of Debian's Chromium (the test skips without it or without playwright)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium); skipping the browser checks")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu", *arguments])
        page = chromium.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(30_000)
        yield page
        chromium.close()


@pytest.fixture(scope="module")
def browser():
    with chromium_page() as page:
        yield page


@pytest.mark.slow
def test_streamlit_run_listens_on_127_0_0_1_only(local_server):
    port = int(local_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", port), timeout=5):
        pass


@pytest.mark.browser
def test_a_server_on_another_address_without_a_token_serves_nothing(browser, tmp_path):
    process, url = start_server("127.0.0.2", tmp_path / "home")
    try:
        for path in ("", "/History"):
            browser.goto(url + path)
            settle(browser, errors_expected=True)
            browser.get_by_text(REFUSAL).wait_for(timeout=30_000)
            assert browser.get_by_role("button", name="Try the demo dataset").count() == 0
            assert browser.locator("[data-testid=stDataFrame]").count() == 0
    finally:
        stop(process)


@pytest.mark.browser
def test_hostile_names_stay_text_in_a_real_browser(browser, local_server, tmp_path):
    """Errors and labels with Markdown links, images and tags show as typed; nothing is fetched or clickable."""
    fetched = []
    browser.on("request", lambda request: fetched.append(request.url) if ":9/" in request.url else None)
    cases = hostile_csvs()
    for name, expected_text in (("single class markdown link", LINK), ("image as text column name", IMAGE),
                                ("html labels", TAG)):
        path = tmp_path / (name.replace(" ", "_") + ".csv")
        path.write_bytes(cases[name][0])
        browser.goto(local_server + "/Data")
        settle(browser)
        browser.set_input_files("[data-testid=stFileUploaderDropzoneInput]", str(path))
        browser.wait_for_timeout(500)
        settle(browser, errors_expected=True)
        main = browser.locator("[data-testid=stMain]")
        if name == "html labels":
            browser.get_by_text("is the dataset for training").wait_for()
        else:
            alert = browser.locator("[data-testid=stAlert]").filter(has_text=expected_text[:4]).first
            alert.wait_for()
            assert alert.locator("a, img").count() == 0
            assert expected_text in alert.inner_text().replace("\u2060", "")
        assert main.locator("img[src='x'], a[href*='127.0.0.1:9'], [data-testid=stPlotlyChart] a").count() == 0
    assert fetched == []
