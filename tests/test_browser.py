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


def start_server(port: int, home: Path) -> subprocess.Popen:
    env = {**os.environ, "TEXTCLF_HOME": str(home), "TEXTCLF_BACKEND": "processes"}  # the default dashboard
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=20)


def need_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed (apt-get install -y chromium); skipping the browser test")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need_browser()
    port = free_port()
    process = start_server(port, tmp_path_factory.mktemp("home"))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url
    finally:
        stop_server(process)


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
def browser():
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        yield launched
        launched.close()


TALL = 4000


@pytest.fixture
def page(browser):
    """A tab 1280 px wide (the README's screenshots), tall enough to hold a whole page."""
    page = browser.new_page(viewport={"width": 1280, "height": TALL})
    page.set_default_timeout(30_000)
    yield page
    page.close()


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
    page.locator("[data-testid=stSidebar] a", has_text=name).first.click()
    page.wait_for_timeout(300)
    settle(page)


def snap(page, path: Path) -> None:
    """Screenshot down to the end of the page's content (the tall viewport leaves blank space below it)."""
    box = page.locator("[data-testid=stMainBlockContainer]").bounding_box()
    height = min(page.viewport_size["height"], int(box["y"] + box["height"]) + 40)
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height})


def remove_choice(page, label: str) -> None:
    page.get_by_role("button", name=f"Remove {label}").first.click()


def sidebar_training(page) -> str:
    return page.locator("[data-testid=stSidebar]").get_by_text("Training:").inner_text()


# Every chart's text boxes, from the SVG Plotly drew: tick labels, axis titles, legend and title must neither
# overlap one another nor stick out of the chart, and no legend may need a scroll bar. Charts whose title starts
# with one of `skip` are left out.
OVERLAPS = """(skip) => {
  const problems = [];
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll("[data-testid=stPlotlyChart] .main-svg:first-of-type").forEach((svg, n) => {
    const chart = svg.closest("[data-testid=stPlotlyChart]").getBoundingClientRect();
    const root = svg.parentElement;
    const title = (root.querySelector(".g-gtitle text") || {}).textContent || "";
    if (skip.some(prefix => title.startsWith(prefix))) return;
    const boxes = [];
    const add = (group, selector) => root.querySelectorAll(selector).forEach(el => {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) boxes.push({group, text: el.textContent.slice(0, 30), r});
    });
    add("xtick", ".xtick text"); add("ytick", ".ytick text"); add("xtitle", ".g-xtitle text");
    add("ytitle", ".g-ytitle text"); add("legend", ".legend .bg"); add("title", ".g-gtitle text");
    const scrollbar = root.querySelector(".legend .scrollbar");
    if (scrollbar && scrollbar.getBoundingClientRect().height > 0) problems.push(`chart ${n}: the legend scrolls`);
    for (const b of boxes) {
      const r = b.r;
      if (r.left < chart.left - 1 || r.right > chart.right + 1 || r.top < chart.top - 1 || r.bottom > chart.bottom + 1)
        problems.push(`chart ${n}: ${b.group} '${b.text}' is cut at the edge`);
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i], boxes[j]];
      if ((a.group !== b.group || a.group === "xtick") && hit(a.r, b.r))
        problems.push(`chart ${n}: ${a.group} '${a.text}' overlaps ${b.group} '${b.text}'`);
    }
  });
  return problems;
}"""


def legible(page, skip: tuple[str, ...] = ()) -> list[str]:
    """Overlapping or cut labels in the page's charts (those whose title starts with one of `skip` left out)."""
    return page.evaluate(OVERLAPS, list(skip))


def small_csv(tmp_path: Path) -> Path:
    """800 rows of the SMS spam set (the synthetic demo when the shared data are absent): quick to train."""
    path = tmp_path / "sms_sample.csv"
    sms = DATASETS / "sms_spam.csv"
    if sms.is_file():
        import pandas as pd

        pd.read_csv(sms).sample(800, random_state=0).to_csv(path, index=False)
    else:
        from textclf.data.demo import demo_csv

        path.write_bytes(demo_csv(800))
    return path


def test_upload_train_compare_predict(page, server, shots, tmp_path):
    """4 models × 2 strategies × 3 seeds (the README's screenshots), switching pages while it trains."""
    page.goto(server)
    settle(page)
    page.locator("[data-testid=stSidebar] a").nth(5).wait_for()
    menu = [text.split("\n")[-1] for text in page.locator("[data-testid=stSidebar] a").all_inner_texts()]
    assert menu[:6] == ["Home", "Data", "Train", "Compare", "Predict", "History"]
    go_to(page, "Data")
    page.set_input_files("[data-testid=stFileUploaderDropzoneInput]", str(small_csv(tmp_path)))
    page.wait_for_selector("[data-testid=stPlotlyChart]", timeout=60_000)
    settle(page)
    assert page.get_by_text("is the dataset for training").count() == 1
    snap(page, shots / "data.png")

    go_to(page, "Train")
    # One epoch keeps CI quick; the README's screenshots (TEXTCLF_SCREENSHOTS set) show models that learnt.
    page.get_by_role("spinbutton", name="Epochs (max)").fill("10" if os.environ.get("TEXTCLF_SCREENSHOTS") else "1")
    page.get_by_role("spinbutton", name="Seeds").fill("3")
    page.get_by_role("combobox", name="Embedding size").click()
    page.get_by_role("option", name="64").click()
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training running").wait_for(timeout=60_000)

    go_to(page, "History")
    first = sidebar_training(page)
    page.wait_for_function(
        "text => [...document.querySelectorAll('[data-testid=stSidebar] p')].some("
        "p => p.innerText.startsWith('Training:') && p.innerText !== text)", arg=first, timeout=120_000)
    assert sidebar_training(page) != first, "the sidebar's progress did not move while on another page"

    go_to(page, "Train")
    page.get_by_text("Training finished: 14 of 14 runs").wait_for(timeout=400_000)
    settle(page)
    assert "done, 14 of 14 runs finished" in sidebar_training(page)

    go_to(page, "Compare")
    page.wait_for_function("document.querySelectorAll('[data-testid=stPlotlyChart]').length >= 5", timeout=60_000)
    settle(page)
    assert page.get_by_text("bucketing cut padding").count() >= 1
    assert page.get_by_text("significant").count() >= 1
    assert page.locator("[data-testid=stPlotlyChart] g.errorbar").count() >= 3
    assert page.get_by_text("Accuracy by text length").count() >= 1
    assert page.get_by_text("Pairwise comparison").count() == 1
    page.wait_for_function("document.querySelectorAll('[data-testid=stTable], [data-testid=stDataFrame]').length >= 3",
                           timeout=60_000)
    page.wait_for_timeout(500)
    snap(page, shots / "compare.png")
    assert legible(page) == []
    page.set_viewport_size({"width": 1024, "height": TALL})
    page.wait_for_timeout(1000)
    snap(page, tmp_path / "compare-1024.png")
    assert legible(page) == []
    page.set_viewport_size({"width": 1280, "height": TALL})

    go_to(page, "Predict")
    page.get_by_label("Text to classify").fill(
        "WINNER!! You have won a free prize <script>alert(1)</script>, call now to claim")
    page.get_by_role("button", name="Predict").click()
    page.wait_for_selector("[data-testid=stPlotlyChart]", timeout=60_000)
    settle(page)
    highlights = page.locator(".textclf-highlight")
    runs = 14  # one explanation per trained run ("14 of 14 runs" above)
    assert highlights.count() == runs and page.locator(".textclf-highlight script").count() == 0
    assert all("<script>alert(1)</script>" in highlights.nth(i).inner_text() for i in range(runs))
    snap(page, shots / "predict.png")
    assert (shots / "predict.png").stat().st_size > 10_000
    assert legible(page) == []


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


def test_a_server_restart_with_the_tab_open_is_announced_and_recovered(browser, tmp_path):
    """Killed mid-training, the tab says the connection is lost, reloads when the server is back, and History
    shows the experiment as interrupted."""
    port, home = free_port(), tmp_path / "home"
    url = f"http://127.0.0.1:{port}"
    process = start_server(port, home)
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    page.set_default_timeout(30_000)
    try:
        wait_for_health(url, process)
        page.goto(url)
        settle(page)
        page.get_by_role("button", name="Try the demo dataset").click()
        page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
        settle(page)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text("Training running").wait_for(timeout=60_000)
        stop_server(process)
        page.get_by_role("alert").filter(has_text="Connection to the textclf server lost").wait_for(timeout=30_000)
        process = start_server(port, home)
        wait_for_health(url, process)
        page.wait_for_function("!document.getElementById('textclf-connection')", timeout=60_000)
        settle(page)
        assert page.get_by_text("Training running").count() == 0
        go_to(page, "History")
        page.get_by_text("interrupted").first.wait_for()  # fails by timeout when no run says so
    finally:
        page.close()
        stop_server(process)
