"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

The overview at a phone's 390×800 and a desk's 1920×1080; a progress bar that moves
while a headless `multicrop --auto` works, with the time from each file operation
(the daemon's journal stamp) to the page showing it, printed; every page rendered,
with screenshots in the test's temporary folder. Skipped only when Chromium or
Playwright is missing (.ci/run installs both).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from conftest import InProcessDaemon, make_images
from procs import multicrop, run_multicrop
from web_helpers import Dashboard

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("the browser tests need Debian's chromium (apt-get install chromium; .ci/run "
                "installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(it is in the test extra)")
pytest.importorskip("starlette", reason="the web extra is not installed")
pytestmark = pytest.mark.timeout(180)

SIZES = {"phone": (390, 800), "desk": (1920, 1080)}
RECORD = """() => {
  window.__seen = [];
  new MutationObserver((changes) => {
    const at = Date.now();
    for (const change of changes) for (const node of change.addedNodes) {
      if (node.nodeType === 1 && node.classList.contains("card") && node.dataset.ts)
        window.__seen.push([at, node.dataset.ts, Number(node.dataset.done)]);
    }
  }).observe(document.getElementById("dirs"), {childList: true});
}"""


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def auto(directory: Path, *args: str) -> None:
    done = run_multicrop("--auto", "center", "--aspect", "1:1", *args, str(directory))
    assert done.returncode == 0, done.stderr


def page_at(browser, size: str, errors: list[str]):
    width, height = SIZES[size]
    page = browser.new_page(viewport={"width": width, "height": height})
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page


# What sticks out past the right edge, for the message of a failed width check.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(-3).map(e => e.tagName + '.' + e.className + ': ' + e.textContent.slice(0, 60))"""


def test_overview_on_a_phone_and_a_desk(browser, daemon: InProcessDaemon,
                                        tmp_path: Path) -> None:
    for name, count, limit in (("_asian", 30, "12"), ("_euro", 8, "8"), ("portraits", 20, "3")):
        make_images(tmp_path / "work" / name, count)
        auto(tmp_path / "work" / name, "--limit", limit)
    errors: list[str] = []
    with Dashboard() as board:
        for size, (width, _) in SIZES.items():
            page = page_at(browser, size, errors)
            page.goto(board.url)
            page.wait_for_selector("#live.on")  # the live feed is connected
            cards = page.locator("#dirs .card")
            assert cards.count() == 3
            assert page.locator('.card[data-id="_asian"] .counts').inner_text().startswith(
                "12 of 30")
            page.screenshot(path=str(tmp_path / f"overview-{size}.png"), full_page=True)
            # nothing wider than the screen: usable at 390 px without sideways scrolling
            assert page.evaluate("document.documentElement.scrollWidth") <= width, \
                page.evaluate(WIDEST)
            box = page.locator('.card[data-id="_euro"] svg.bar').bounding_box()
            assert box and box["width"] > 0.6 * min(width, 400)
            for path in ("/d/_asian", "/stats", "/plan"):
                page.goto(board.url.rstrip("/") + path)
                assert page.evaluate("document.documentElement.scrollWidth") <= width, path
                name = path.strip("/").replace("/", "-")
                page.screenshot(path=str(tmp_path / f"{name}-{size}.png"), full_page=True)
            page.close()
    assert not errors, errors  # no script error, nothing refused by the CSP
    print(f"\nscreenshots in {tmp_path}")


def test_a_progress_bar_moves_live_while_a_run_works(browser, daemon: InProcessDaemon,
                                                     tmp_path: Path) -> None:
    work = tmp_path / "work" / "_asian"
    total = 40
    make_images(work, total)
    auto(work, "--limit", "1")
    errors: list[str] = []
    with Dashboard() as board:
        page = page_at(browser, "phone", errors)
        page.goto(board.url)
        page.wait_for_selector("#live.on")
        page.evaluate(RECORD)
        bar = '.card[data-id="_asian"] svg.bar rect.done'
        before = float(page.locator(bar).get_attribute("width") or 0)
        # until the page has shown one live change, the daemon's feed may not reach it yet
        end = time.monotonic() + 60
        while not page.evaluate("window.__seen.length"):
            assert time.monotonic() < end, "the page never changed live"
            auto(work, "--limit", "1")
            page.wait_for_timeout(300)
        run = multicrop("--auto", "center", "--aspect", "1:1", str(work))
        page.wait_for_function(
            "(total) => document.querySelector('.card[data-id=\"_asian\"]').dataset.done"
            " == String(total)", arg=total, timeout=90_000)
        assert run.wait(60) == 0
        after = float(page.locator(bar).get_attribute("width") or 0)
        assert after == 1000.0 > before  # the bar went from part to full without a reload
        seen = page.evaluate("window.__seen")
        lags = [at - page.evaluate("(ts) => Date.parse(ts)", ts) for at, ts, _ in seen]
        page.screenshot(path=str(tmp_path / "live-done-phone.png"), full_page=True)
        page.close()
    assert not errors, errors
    print(f"\nfile operation to screen: {len(lags)} live updates, median "
          f"{statistics.median(lags):.0f} ms, max {max(lags):.0f} ms (goal: 1000 ms)")


def test_the_audit_trail_grows_live(browser, daemon: InProcessDaemon, tmp_path: Path) -> None:
    work = tmp_path / "work" / "_euro"
    make_images(work, 20)
    auto(work, "--limit", "2")
    errors: list[str] = []
    with Dashboard() as board:
        page = page_at(browser, "desk", errors)
        page.goto(board.url.rstrip("/") + "/d/_euro")
        page.wait_for_selector("#live.on")
        rows = page.locator("#trail li").count()
        end = time.monotonic() + 60
        while page.locator("#trail li.op-crop").count() < 6:
            assert time.monotonic() < end, "the trail never grew"
            auto(work, "--limit", "2")
            page.wait_for_timeout(300)
        assert page.locator("#trail li").count() > rows
        assert page.locator("#trail li").first.locator(".op").inner_text() in (
            "session end", "crop", "claim", "session start")
        page.screenshot(path=str(tmp_path / "trail-desk.png"), full_page=True)
        page.close()
    assert not errors, errors


def test_with_a_token_the_printed_address_opens_and_stays_live(browser, daemon: InProcessDaemon,
                                                               tmp_path: Path) -> None:
    from crop_client.web import cli

    token_file = tmp_path / "web-token"
    cli.token(str(token_file))
    work = tmp_path / "work" / "_asian"
    make_images(work, 10)
    auto(work, "--limit", "1")
    errors: list[str] = []
    with Dashboard("--token-file", str(token_file)) as board:
        assert board.token and board.url.endswith(f"?token={board.token}")
        page = page_at(browser, "phone", errors)
        refused = page.goto(board.url.split("?")[0])
        assert refused is not None and refused.status == 401
        page.goto(board.url)
        assert "token" not in page.url  # the token left the address bar for a cookie
        page.wait_for_selector("#live.on")  # /events accepted the cookie
        page.evaluate(RECORD)
        end = time.monotonic() + 60
        while not page.evaluate("window.__seen.length"):
            assert time.monotonic() < end, "the page never changed live"
            auto(work, "--limit", "1")
            page.wait_for_timeout(300)
        cookies = page.context.cookies()
        assert [(c["name"], c["httpOnly"], c["sameSite"]) for c in cookies] == [
            ("crop_web_token", True, "Strict")]
        page.close()
    # the refused page (and, as the browser pleases, its icon) is all that went wrong
    assert errors and all("status of 401" in e for e in errors), errors
