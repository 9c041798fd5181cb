"""Time the dashboard's default comparison as a new user meets it: a real browser, a fresh server.

    python bench/dashboard_time.py demo        (or: mr, waimai_10k — read from ../shared/datasets)

Starts `streamlit run app.py` with an empty TEXTCLF_HOME, opens it in Debian's Chromium (Playwright), loads
the data (the Home page's demo button, or an upload on the Data page), presses "Start training" with the
form's defaults — after "Estimate the time", so the page's pre-Start estimate is on record — waits for
"Training finished" and for the Compare page's charts. Prints the estimate, the training time, their ratio,
whether Compare shows the "still improving" training caution, and the time from server start to Compare.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
READY = "[data-testid=stApp][data-test-script-state=notRunning]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(url: str) -> None:
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            return
        except OSError:
            time.sleep(0.2)


@contextmanager
def served_page(port: int, *, height: int):
    """A fresh `streamlit run app.py` (empty TEXTCLF_HOME) on `port` and a Chromium page: yields (page, url)."""
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as home:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
             str(port), "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env={**os.environ, "TEXTCLF_HOME": home}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_health(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=["--no-sandbox", "--disable-gpu",
                                                           "--disable-background-networking"])
                page = browser.new_page(viewport={"width": 1500, "height": height})
                page.set_default_timeout(120_000)
                yield page, url
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def open_page(page, name: str) -> None:
    page.locator("[data-testid=stSidebar] a", has_text=name).first.click()
    page.wait_for_timeout(300)
    page.wait_for_selector(READY)


def seconds_in(text: str) -> float:
    """'about 4 min 10 s' (or '1 h 2 min', '45 s') as seconds."""
    units = {"h": 3600, "min": 60, "s": 1}
    return float(sum(int(value) * units[unit] for value, unit in re.findall(r"(\d+) (h|min|s)\b", text)))


def estimate_before_start(page) -> float:
    """Press Estimate the time (calibrating on first use) and read the page's estimate."""
    page.get_by_role("button", name="Estimate the time").click()
    shown = page.get_by_text("Estimated time on this machine")
    shown.wait_for(timeout=600_000)
    return seconds_in(shown.inner_text().split(".")[0])


def drive(page, url: str, dataset: str) -> tuple[float, float, bool]:
    """Load the data, estimate, train with the defaults, open Compare.

    Returns the estimate, the training seconds and whether Compare shows the training caution."""
    page.goto(url)
    page.wait_for_selector(READY)
    if dataset == "demo":
        page.get_by_role("button", name="Try the demo dataset").click()
    else:
        open_page(page, "Data")
        page.set_input_files("[data-testid=stFileUploaderDropzoneInput]", str(DATASETS / f"{dataset}.csv"))
        page.wait_for_selector("[data-testid=stPlotlyChart]")
        page.wait_for_selector(READY)
        open_page(page, "Train")
    estimate = estimate_before_start(page)
    page.wait_for_selector(READY)
    page.get_by_role("button", name="Start training").click()
    started = time.monotonic()
    page.get_by_text("Training finished").wait_for(timeout=900_000)
    training = time.monotonic() - started
    open_page(page, "Compare")
    page.wait_for_function("document.querySelectorAll('[data-testid=stPlotlyChart]').length >= 5")
    if page.locator("[data-testid=stException]").count():
        raise RuntimeError("the Compare page shows an exception")
    return estimate, training, page.get_by_text("Training caution").count() > 0


def main(dataset: str) -> None:
    if dataset != "demo" and not (DATASETS / f"{dataset}.csv").is_file():
        sys.exit(f"error: {DATASETS / dataset}.csv not found (the shared data sets live beside the repo)")
    started = time.monotonic()
    with served_page(free_port(), height=2400) as (page, url):
        estimate, training, caution = drive(page, url, dataset)
    print(f"{dataset}: estimated before Start {estimate:.0f} s; training {training:.0f} s "
          f"(estimate / actual {estimate / training:.2f}); training caution shown: {'yes' if caution else 'no'}; "
          f"server start to Compare page {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "demo")
