"""The fixtures' HTML report in a real browser: Debian's Chromium, headless, driven by
Playwright's Python package (no `playwright install`: the system browser is used).

CI (.ci/run) installs chromium and sets SORA_AUDIT_REQUIRE_BROWSER=1: there a missing browser
fails the test. On a developer machine without chromium it is skipped.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT, run_cli

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("SORA_AUDIT_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = ROOT / "reports" / "test-artifacts"


def _unavailable(reason: str):
    if os.environ.get("SORA_AUDIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test required in CI but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def fixtures_report(tmp_path_factory):
    rep = tmp_path_factory.mktemp("browser") / "fixtures"
    r = run_cli("check", str(FIXTURES), "--report", str(rep), "-q")
    assert r.returncode == 1, r.stderr
    return rep / "index.html"


def _open(browser, page_path: Path):
    """A page on the report, recording every request; anything but the file itself or a data:
    URL is aborted (and then fails the test)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen, errors = [], []
    url = page_path.resolve().as_uri()

    def route(r):
        seen.append(r.request.url)
        if r.request.url == url or r.request.url.startswith("data:"):
            r.continue_()
        else:
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda req: seen.append(req.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, url, seen, errors


def test_fixtures_report_in_chromium(browser, fixtures_report, tmp_path):
    page, url, seen, errors = _open(browser, fixtures_report)
    for sel in ("#summary", "#gate", "#policy-errors", "#runtime-errors", "#clips", "#clips-table"):
        assert page.locator(sel).is_visible(), sel
    assert page.locator("#gate .badge").inner_text().strip().lower() == "fail"
    assert "runtime.undecodable" in page.locator("#runtime-errors").inner_text()
    # thumbnails drawn (data: URLs inside inline SVG), with the watermark box on the marked clip
    marked = page.locator('details.clip:has(h3:text-is("marked.mp4"))')
    assert marked.locator("rect.wmbox").count() >= 2
    data = json.loads((fixtures_report.parent / "results.json").read_text())
    verdicts = sorted(c["verdict"] for c in data["clips"])
    assert page.locator("details.clip").count() == len(data["clips"])
    assert page.locator("#clips svg image").count() == 3 * sum(1 for c in data["clips"] if c.get("keyframes"))
    assert fixtures_report.stat().st_size < 1_000_000
    assert "pass" in verdicts and "fail" in verdicts and "error" in verdicts
    rows = page.locator("#clips-table tbody tr")
    total = rows.count()
    assert total == len(verdicts) >= 6
    # filter: hide passing clips
    page.locator('.filters input[value="pass"]').uncheck()
    visible = [rows.nth(i).get_attribute("data-verdict") for i in range(total) if rows.nth(i).is_visible()]
    assert sorted(visible) == [v for v in verdicts if v != "pass"]
    assert page.locator('details.clip[data-verdict="pass"]').first.is_hidden()
    assert page.locator('details.clip[data-verdict="fail"]').first.is_visible()
    assert page.locator("#shown").inner_text() == str(len(visible))
    page.locator('.filters input[value="pass"]').check()
    assert page.locator("#shown").inner_text() == str(total)
    # sort by verdict: failures first
    page.locator('#clips-table th[data-sort="verdict"]').click()
    assert rows.nth(0).get_attribute("data-verdict") == "fail"
    shot = tmp_path / "fixtures-report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, ARTIFACTS / shot.name)
    assert not errors, errors
    leaving = [u for u in seen if u != url and not u.startswith("data:")]
    assert not leaving, f"requests left the page: {leaving}"
    page.close()


def test_injected_script_does_not_run(browser, tmp_path):
    """A prompt, manifest title and provider message carrying <script> stay text in the browser."""
    from audit.outputs import html

    x = "<script>window.__pwned=1</script><img src=http://example.invalid/x.png>"
    clip = {"path": f"clips/{x}.mp4", "verdict": "fail", "source": {"model": "sora-2", "prompt": x},
            "media": None, "provenance": {"status": "invalid", "title": x}, "watermark": None,
            "metrics": {"flicker": None, "drift": None, "camera": None},
            "findings": [{"category": "policy", "severity": "fail", "code": "policy.blocked", "message": x,
                          "evidence": {"provider_message": x, "advice": x}}]}
    run = {"run_id": "x", "exit_code": 1, "policy": {"source": "defaults"}, "clips": [clip]}
    p = tmp_path / "index.html"
    p.write_text(html.render(run), encoding="utf-8")
    page, url, seen, errors = _open(browser, p)
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned=1</script>" in page.locator("#policy-errors").inner_text()
    assert not [u for u in seen if u != url and not u.startswith("data:")]
    page.close()
