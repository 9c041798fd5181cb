"""A real browser chooses HAN and multichannel TextCNN in the Train form, trains them and finds them on Compare."""

from __future__ import annotations

import pytest

from tests.test_browser import READY, browser, go_to, page, remove_choice, server, settle, shots, snap  # noqa: F401,E501  (fixtures)
from textclf.data.demo import demo_csv

pytestmark = pytest.mark.browser


def choose(tab, label: str, option: str) -> None:
    widget = tab.locator("[data-testid=stMultiSelect]").filter(has=tab.get_by_text(label, exact=True))
    box = widget.locator("input")
    box.click()
    box.fill(option)
    tab.get_by_role("option", name=option, exact=True).click()
    tab.keyboard.press("Escape")


def test_han_and_multichannel_textcnn_train_and_show_on_compare(page, server, shots, tmp_path):  # noqa: F811
    csv = tmp_path / "demo.csv"
    csv.write_bytes(demo_csv(300))
    page.goto(server)
    page.wait_for_selector(READY, timeout=180_000)  # the first run imports torch: slow on a busy machine
    settle(page)
    go_to(page, "Data")
    page.set_input_files("[data-testid=stFileUploaderDropzoneInput]", str(csv))
    page.wait_for_selector("[data-testid=stPlotlyChart]", timeout=60_000)
    settle(page)

    go_to(page, "Train")
    for name in ("BiRNN", "SVM", "kNN", "max_length", "rand"):
        remove_choice(page, name)
    choose(page, "Models", "HAN")
    choose(page, "Embeddings (neural models)", "multichannel")
    page.wait_for_timeout(300)  # the choice reruns the page (it adds the word-vectors question) …
    settle(page)  # … and typing into the form must come after that rerun, or the rerun resets it
    page.get_by_role("spinbutton", name="Epochs (max)").fill("1")
    page.get_by_text("Quick look").hover()  # away from the fields, so no menu is fading out in the picture
    page.wait_for_timeout(500)
    snap(page, shots / "train_han_multichannel.png")
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("Training finished").wait_for(timeout=300_000)
    settle(page)

    go_to(page, "Compare")
    page.wait_for_function("document.querySelectorAll('[data-testid=stPlotlyChart]').length >= 3", timeout=60_000)
    settle(page)
    for label in ("HAN (multichannel)", "TextCNN (multichannel)"):
        assert page.get_by_text(label).count() >= 1, f"{label} is not on Compare"
    snap(page, shots / "compare_han_multichannel.png")
