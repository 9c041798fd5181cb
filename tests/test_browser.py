"""A real browser drives the dashboard: upload, train a small comparison, read Compare, predict.

Uses Debian's Chromium through Playwright (Playwright's own browser download does not work here); skips with
a message when either is missing. Screenshots go to $TEXTCLF_SCREENSHOTS when set (the README's pictures are
made that way), else to a temporary folder.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import DATASETS

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"
ERROR_BOX = "[data-testid=stAlertContentError]"


def free_port() -> int:
    """A free port, inside $TEXTCLF_TEST_PORTS (e.g. 8710-8719, where a shared machine hands out ranges) if set."""
    low, _, high = os.environ.get("TEXTCLF_TEST_PORTS", "0").partition("-")
    for port in range(int(low), int(high or low) + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in TEXTCLF_TEST_PORTS={low}-{high}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium); skipping the browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    port = free_port()
    env = {**os.environ, "TEXTCLF_HOME": str(tmp_path_factory.mktemp("home"))}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("streamlit did not answer its health check")


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1500, "height": 2600})
        page.set_default_timeout(30_000)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("TEXTCLF_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def settle(page, *, errors_expected: bool = False) -> None:
    """Wait for the script to finish; fail on a traceback and, unless the test provokes one, on an error box
    (pages catch their exceptions and show them as messages)."""
    page.wait_for_selector(READY, timeout=60_000)
    assert page.locator("[data-testid=stException]").count() == 0
    errors = page.locator(ERROR_BOX)
    assert errors_expected or errors.count() == 0, f"the page shows an error box: {errors.all_inner_texts()}"


def go_to(page, name: str) -> None:
    page.locator("[data-testid=stSidebarNav] a", has_text=name).first.click()
    page.wait_for_timeout(300)
    settle(page)


def snap(page, path: Path) -> None:
    """Screenshot down to the end of the page's content (the tall viewport leaves blank space below it)."""
    box = page.locator("[data-testid=stMainBlockContainer]").bounding_box()
    height = min(page.viewport_size["height"], int(box["y"] + box["height"]) + 40)
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height})


def remove_choice(page, label: str) -> None:
    page.get_by_role("button", name=f"Remove {label}").first.click()


def test_upload_train_compare_predict(page, server, shots, tmp_path):
    sms = DATASETS / "sms_spam.csv"
    if not sms.is_file():
        sms = tmp_path / "demo.csv"
        from textclf.demo import demo_csv

        sms.write_bytes(demo_csv(600))
    page.goto(server)
    settle(page)
    go_to(page, "Data")
    page.set_input_files("[data-testid=stFileUploaderDropzoneInput]", str(sms))
    page.wait_for_selector("[data-testid=stPlotlyChart]", timeout=60_000)
    settle(page)
    assert page.get_by_text("is the dataset for training").count() == 1
    snap(page, shots / "data.png")

    go_to(page, "Train")
    remove_choice(page, "BiRNN")
    remove_choice(page, "kNN")
    page.get_by_role("spinbutton", name="Epochs (max)").fill("1")
    page.get_by_role("spinbutton", name="Seeds").fill("2")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training finished").wait_for(timeout=240_000)
    settle(page)

    go_to(page, "Compare")
    page.wait_for_function("document.querySelectorAll('[data-testid=stPlotlyChart]').length >= 5", timeout=60_000)
    settle(page)
    assert page.get_by_text("bucketing cut padding").count() >= 1
    assert page.get_by_text("significant").count() >= 1
    assert page.locator("[data-testid=stPlotlyChart] g.errorbar").count() >= 3
    assert page.get_by_text("Accuracy by text length").count() >= 1
    assert page.get_by_text("Pairwise comparison").count() == 1
    assert page.locator("[data-testid=stDataFrame]").count() >= 3
    snap(page, shots / "compare.png")

    go_to(page, "Predict")
    box = page.get_by_label("Text to classify")
    box.fill("WINNER!! You have won a free prize <script>alert(1)</script>, call now to claim")
    box.press("Control+Enter")
    page.wait_for_selector("[data-testid=stPlotlyChart]", timeout=60_000)
    settle(page)
    highlights = page.locator(".textclf-highlight")
    shown = highlights.count()
    assert shown >= 3 and page.locator(".textclf-highlight script").count() == 0
    assert all("<script>alert(1)</script>" in highlights.nth(i).inner_text() for i in range(shown))
    snap(page, shots / "predict.png")
    assert (shots / "predict.png").stat().st_size > 10_000


def test_an_error_box_fails_the_browser_check(page, server, tmp_path):
    """An error the page catches and shows as a message must still fail `settle`."""
    bad = tmp_path / "one-column.csv"
    bad.write_text("text\nhello\nworld\n")
    page.goto(server)
    settle(page)
    go_to(page, "Data")
    page.set_input_files("[data-testid=stFileUploaderDropzoneInput]", str(bad))
    page.wait_for_selector(ERROR_BOX, timeout=60_000)
    with pytest.raises(AssertionError, match="error box"):
        settle(page)
