"""Page latency while training: a menu click until the new page is ready, idle and while a comparison trains.

    nice -n 10 python bench/page_latency.py --clicks 30
    TEXTCLF_BACKEND=sequential nice -n 10 python bench/page_latency.py --clicks 30   (training in the server)

Starts `streamlit run app.py` (port 8770, an empty TEXTCLF_HOME), opens it in Debian's Chromium, loads the
demo data, then clicks between the Data and History pages: `--clicks` times idle, then `--clicks` times while
the Train page's default comparison (run for 20 epochs so that it outlasts the clicks) trains in the
background. A click counts from the click until the new page's title is shown and the script has stopped
running. Prints median / p90 / max for both and the p90 ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from dashboard_time import READY, served_page

ROOT = Path(__file__).resolve().parents[1]
PORT = 8770
PAGES = ("Data", "History")


def click_to_ready(page, name: str) -> float:
    started = time.perf_counter()
    page.locator("[data-testid=stSidebar] a", has_text=name).first.click()
    page.locator("h1", has_text=name).first.wait_for()
    page.wait_for_selector(READY)
    return (time.perf_counter() - started) * 1000


def clicks(page, count: int) -> list[float]:
    return [click_to_ready(page, PAGES[i % 2]) for i in range(count)]


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):.0f} / p90 {p90(times):.0f} / max {max(times):.0f} ms"


def p90(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def measure(page, url: str, count: int) -> tuple[list[float], list[float], bool]:
    page.goto(url)
    page.wait_for_selector(READY)
    page.get_by_role("button", name="Try the demo dataset").click()
    page.locator("h1", has_text="Train").first.wait_for()
    page.wait_for_selector(READY)
    clicks(page, 4)  # warm up: every page compiled once
    idle = clicks(page, count)
    click_to_ready(page, "Train")
    page.get_by_role("spinbutton", name="Epochs (max)").fill("20")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("epoch 1 of").first.wait_for(timeout=600_000)
    training = clicks(page, count)
    click_to_ready(page, "Train")
    still_training = page.get_by_role("button", name="Cancel training").count() > 0
    if still_training:
        page.get_by_role("button", name="Cancel training").click()
    return idle, training, still_training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=30)
    args = parser.parse_args()
    backend = os.environ.get("TEXTCLF_BACKEND", "processes")
    with served_page(PORT, height=2000) as (page, url):
        idle, training, still_training = measure(page, url, args.clicks)
    print(f"back-end {backend}; {args.clicks} clicks each; load average {os.getloadavg()}")
    print(f"idle:           {summary(idle)}")
    ended = "" if still_training else " (training ended before the last click)"
    print(f"while training: {summary(training)}{ended}")
    print(f"p90 ratio training / idle: {p90(training) / p90(idle):.2f}")


if __name__ == "__main__":
    main()
