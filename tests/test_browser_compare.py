"""Compare is legible in a real browser at 1280 and 1024 px (issue 23, item 6): no table scrolls sideways or cuts a
cell, the Plotly toolbar never covers a chart title, and chart labels (bar values included) neither overlap nor
stick out. The comparison is trained in seconds and stored before the server starts, then opened from History.
The checks are shown to fail on a cut cell and on a title under the toolbar."""

from __future__ import annotations

import pytest

from tests.compare_fixture import CONFIG, stored_comparison
from tests.test_browser import (  # noqa: F401  (browser: a fixture)
    CHROMIUM,
    READY,
    browser,
    free_port,
    go_to,
    legible,
    need_browser,
    settle,
    shots,
    snap,
    start_server,
    stop_server,
    wait_for_health,
)

pytestmark = pytest.mark.browser
WIDTHS = (1280, 1024)
TALL = 9000
QUICK = CONFIG.__class__(**{**CONFIG.__dict__, "epochs": 2, "seeds": (0,)})

# Tables: an HTML table (st.table) or a data grid (st.dataframe) wider than its box scrolls sideways; an HTML cell
# whose content is wider than the cell is cut.
CUT_TABLES = """() => {
  const problems = [];
  const main = document.querySelector("[data-testid=stMainBlockContainer]").getBoundingClientRect();
  document.querySelectorAll("[data-testid=stTable]").forEach((box, n) => {
    const table = box.querySelector("table");
    if (table.scrollWidth > box.clientWidth + 1 || box.getBoundingClientRect().right > main.right + 1)
      problems.push(`table ${n} is wider than the page (${table.scrollWidth} > ${box.clientWidth} px)`);
    table.querySelectorAll("th, td").forEach(cell => {
      if (cell.scrollWidth > cell.clientWidth + 1)
        problems.push(`table ${n}: cell '${cell.innerText.slice(0, 30)}' is cut`);
    });
  });
  document.querySelectorAll("[data-testid=stDataFrame]").forEach((grid, n) => {
    const scroller = grid.querySelector(".dvn-scroller");
    if (scroller && scroller.scrollWidth > scroller.clientWidth + 1)
      problems.push(`data grid ${n} scrolls sideways (${scroller.scrollWidth} > ${scroller.clientWidth} px)`);
  });
  return problems;
}"""

# Charts: the title against the Plotly toolbar (drawn on hover, measured whether shown or not) and bar labels
# against each other and against every other text of the chart.
COVERED_TITLES = """() => {
  const problems = [];
  const hit = (a, b) => a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1;
  document.querySelectorAll("[data-testid=stPlotlyChart]").forEach((chart, n) => {
    const title = chart.querySelector(".g-gtitle text");
    const bar = chart.querySelector(".modebar");
    if (title && bar && bar.getBoundingClientRect().width > 0 &&
        hit(title.getBoundingClientRect(), bar.getBoundingClientRect()))
      problems.push(`chart ${n}: the toolbar covers the title '${title.textContent}'`);
    const labels = [...chart.querySelectorAll(".bartext text, text.bartext")].map(t => t.getBoundingClientRect())
      .filter(r => r.width > 0);
    const others = [...chart.querySelectorAll(".xtick text, .ytick text, .g-gtitle text, .g-xtitle text, " +
                                              ".g-ytitle text")].map(t => t.getBoundingClientRect());
    labels.forEach((a, i) => {
      if (labels.slice(i + 1).some(b => hit(a, b)) || others.some(b => hit(a, b)))
        problems.push(`chart ${n}: a bar label overlaps another text`);
    });
  });
  return problems;
}"""


def problems(page) -> list[str]:
    return page.evaluate(CUT_TABLES) + page.evaluate(COVERED_TITLES) + legible(page)


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory, request):
    """A server whose store holds one finished comparison of the four model families on both batchings."""
    need_browser()
    home = tmp_path_factory.mktemp("home")
    stored_comparison(home, rows=600, config=QUICK)
    process = start_server(port := free_port(), home)
    request.addfinalizer(lambda: stop_server(process))
    wait_for_health(f"http://127.0.0.1:{port}", process)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def compare_page(browser, compare_server):  # noqa: F811
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": TALL})
    page.set_default_timeout(30_000)
    page.goto(compare_server)
    page.wait_for_selector(READY, timeout=180_000)
    go_to(page, "History")
    page.get_by_role("button", name="Open in Compare").click()
    page.wait_for_function("document.querySelectorAll('[data-testid=stPlotlyChart]').length >= 6 && "
                           "document.querySelectorAll('[data-testid=stTable]').length >= 4", timeout=60_000)
    settle(page)
    yield page
    page.close()


def test_compare_fits_the_page_at_1280_and_1024_px(compare_page, shots, tmp_path):  # noqa: F811
    page = compare_page
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": TALL})
        page.wait_for_timeout(1500)
        snap(page, (shots if width == 1280 else tmp_path) / f"compare_legible_{width}.png")
        assert problems(page) == [], f"at {width} px"


def test_the_checks_fail_on_a_cut_cell_and_on_a_title_under_the_toolbar(compare_page):
    page = compare_page
    assert problems(page) == []
    page.evaluate("""() => {
      const cell = document.querySelector("[data-testid=stTable] td");
      cell.style.whiteSpace = "nowrap"; cell.style.maxWidth = "20px"; cell.style.overflow = "hidden";
      cell.innerText = "a cell far too long to fit in twenty pixels";
    }""")
    assert any("is cut" in problem for problem in page.evaluate(CUT_TABLES))
    page.evaluate("""() => {
      const chart = document.querySelector("[data-testid=stPlotlyChart]");
      const bar = chart.querySelector(".modebar").getBoundingClientRect();
      const title = chart.querySelector(".g-gtitle text");
      const box = title.getBoundingClientRect();
      title.setAttribute("transform", `translate(${bar.left - box.left}, ${bar.top - box.top + box.height / 2})`);
    }""")
    assert any("the toolbar covers the title" in problem for problem in page.evaluate(COVERED_TITLES))
