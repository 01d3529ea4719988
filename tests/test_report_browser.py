"""The HTML report in a real browser (Debian's Chromium driven by Playwright).

Desktop (1280 px) and phone (390 px) widths: the page never scrolls sideways, a table wider
than the screen scrolls inside its own box, figures fit, the table of contents stays
pinned while scrolling, sections fold, and the audit lists disagreements first.
Screenshots are saved to build/screenshots/ (report-desktop.png, report-phone.png).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "build" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium (make web-deps installs it)")


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from remission.pipeline import bundle_for
    from remission.report import write_report

    out = tmp_path_factory.mktemp("browser") / "report"
    return write_report(bundle_for(ROOT / "examples" / "cll1-post-hsct"), out)["html"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.mark.parametrize(("name", "width", "height"), [("desktop", 1280, 900),
                                                       ("phone", 390, 844)])
def test_report_layout_in_chromium(browser, report_html: Path, name: str, width: int,
                                   height: int) -> None:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(report_html.as_uri())
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"report-{name}.png"))
    # no sideways scrolling of the page itself
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # every table either fits its box or scrolls inside it
    boxes = page.evaluate("""[...document.querySelectorAll('.tablewrap')].map(w => ({
        over: w.scrollWidth > w.clientWidth + 1,
        scrolls: getComputedStyle(w).overflowX === 'auto',
        right: w.getBoundingClientRect().right}))""")
    assert boxes and all(b["scrolls"] for b in boxes if b["over"])
    assert all(b["right"] <= width + 1 for b in boxes)
    if name == "phone":
        assert any(b["over"] for b in boxes)  # the cue matters: some table is wider
    # figures: their box fits the screen; an image is never shrunk below 560 px (or its
    # natural width) so its text stays legible -- a wider one scrolls inside its box
    imgs = page.evaluate("""[...document.querySelectorAll('figure img')].map(i => ({
        w: i.getBoundingClientRect().width, natural: i.naturalWidth,
        box: i.parentElement.getBoundingClientRect().right}))""")
    assert imgs and all(i["box"] <= width + 1 for i in imgs)
    assert all(i["w"] >= min(i["natural"], 560) - 1 for i in imgs), imgs
    # the table of contents stays pinned at the top while scrolling
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    top = page.evaluate("document.querySelector('nav.toc').getBoundingClientRect().top")
    assert abs(top) < 1
    page.screenshot(path=str(SHOTS / f"report-{name}-scrolled.png"))
    # sections fold and unfold
    summary = page.locator("details.section > summary").first
    summary.click()
    assert page.evaluate("document.querySelector('details.section').open") is False
    summary.click()
    assert page.evaluate("document.querySelector('details.section').open") is True
    # the audit shows its disagreements first
    verdicts = page.evaluate("""[...document.querySelectorAll(
        "article[id='res-audit.claims'] td.verdict")]
        .map(td => td.textContent.replace(/[^a-z ]/g, "").trim())""")
    assert verdicts and verdicts[0] == "disagrees"
    assert verdicts.index("agrees") > max(i for i, v in enumerate(verdicts) if v == "disagrees")
    page.close()
