"""A comparison belongs to the person, not to the tab (real Chromium against a real server with one worker).

Start a comparison, reload: the same experiment's progress and Cancel are there. A second tab opened on the
same address watches it, and a comparison started there waits "2nd in line" with an estimate, then starts once
the first is cancelled. The server's terminal shows no "missing ScriptRunContext" line meanwhile.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests import test_browser as base
from tests.test_browser import ROOT, free_port, need_browser, remove_choice, settle, snap, wait_for_health

pytestmark = pytest.mark.browser
browser, shots = base.browser, base.shots  # the browser test's fixtures
WIDTHS = (1280, 1024)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One worker process, so a second comparison waits for the first's run."""
    need_browser()
    port = free_port()
    env = {**os.environ, "TEXTCLF_HOME": str(tmp_path_factory.mktemp("home")), "TEXTCLF_BACKEND": "processes",
           "TEXTCLF_WORKERS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port",
         str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def new_tab(browser, width: int = 1280):
    tab = browser.new_page(viewport={"width": width, "height": 2000})
    tab.set_default_timeout(30_000)
    return tab


def test_a_comparison_survives_a_reload_is_watched_from_another_tab_and_queues_the_next(server, browser, shots):
    url, process = server
    first = new_tab(browser)
    first.goto(url)
    settle(first)
    first.get_by_role("button", name="Try the demo dataset").click()
    first.wait_for_url(re.compile(r"/Train"))
    settle(first)
    first.get_by_text("Epochs (max)").wait_for()
    for width in WIDTHS:
        first.set_viewport_size({"width": width, "height": 2000})
        first.wait_for_timeout(500)
        snap(first, shots / f"train-form-{width}.png")
    for model in ("BiRNN", "SVM", "kNN"):
        remove_choice(first, model)
    first.wait_for_timeout(300)
    settle(first)
    assert first.get_by_text("RNN cell").count() == 0, "no recurrent model chosen, no RNN settings"
    assert first.locator("[data-testid=stFileUploader]").count() == 0, "rand embeddings need no vectors file"
    first.get_by_role("button", name="Start training").click()
    first.wait_for_url(re.compile(r"experiment=1"))
    first.get_by_text("Experiment #1", exact=True).wait_for()
    first.get_by_text(re.compile(r"time left: about")).wait_for(timeout=120_000)

    first.reload()
    settle(first)
    assert "experiment=1" in first.url
    first.get_by_text("Experiment #1", exact=True).wait_for()
    first.get_by_text(re.compile(r"Training running")).wait_for()
    assert first.get_by_role("button", name="Cancel training").is_visible()
    for width in WIDTHS:
        first.set_viewport_size({"width": width, "height": 2000})
        first.wait_for_timeout(500)
        snap(first, shots / f"train-running-{width}.png")

    second = new_tab(browser)
    second.goto(first.url)
    settle(second)
    second.get_by_text("Experiment #1", exact=True).wait_for()
    second.get_by_text("Settings for another comparison").click()
    for model in ("TextCNN", "BiRNN", "kNN"):
        remove_choice(second, model)
    second.wait_for_timeout(300)
    settle(second)
    second.get_by_role("button", name="Start training").click()
    second.wait_for_url(re.compile(r"experiment=2"))
    second.get_by_text(re.compile(r"2nd in line, behind experiment #1: starts about \d\d:\d\d, finishes about")
                       ).first.wait_for()
    sidebar = second.locator("[data-testid=stSidebar]").get_by_text(re.compile("Queued: 2nd in line"))
    sidebar.wait_for()
    snap(second, shots / "train-queued-1280.png")

    second.goto(f"{url}/History")
    settle(second)
    second.get_by_text("Running and queued").wait_for()
    watch_links = second.get_by_role("link", name=re.compile("Watch"))
    watch_links.nth(1).wait_for()  # the rows render after the heading: wait for both before counting
    assert watch_links.count() == 2
    for width in WIDTHS:
        second.set_viewport_size({"width": width, "height": 2000})
        second.wait_for_timeout(500)
        snap(second, shots / f"history-running-{width}.png")
    second.goto(f"{url}/Train?experiment=2")
    settle(second)

    first.get_by_role("button", name="Cancel training").click()
    first.get_by_text(re.compile(r"Training cancelled")).wait_for(timeout=60_000)
    second.get_by_text(re.compile(r"Training finished: 1 of 1 run")).wait_for(timeout=120_000)

    first.close()
    second.close()
    process.terminate()
    process.wait(timeout=30)
    errors = process.stderr.read().decode(errors="replace")
    assert "ScriptRunContext" not in errors, errors[-2000:]
