"""Time the app as a person meets it, in headless Chromium: cold start, page switches, first streamed token.

Three figures, all measured from the browser's side against the real `peerdraft run` server
(the same launch, driver and waits as tests/e2e):

1. Cold start to first page render: process launch → the Write page's title is drawn. Measured
   twice: the very first start on an empty data directory (it indexes the bundled corpus) and a
   restart on the same directory (index on disk). The server's own health answer is the reference.
2. Page switch: click on a sidebar link → the target page's title is drawn and Streamlit is idle,
   for each page, several rounds; the median per page.
3. "Draft section" → first streamed token visible in the browser, for the first draft (the
   model loads) and a second draft of the same section (model warm); the end of the whole
   draft (verification included) beside it.

The machine's load average is printed with the figures: other work on the 2 cores slows every one.

Run: .venv/bin/python bench/ui.py [--rounds N] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from bench._results import write_section  # noqa: E402

import conftest as e2e  # noqa: E402  (tests/e2e/conftest.py: app launch, driver, Streamlit waits)

PAGES = ["Corpus", "Library", "Review", "Settings", "Write"]
TITLE_JS = "const h = document.querySelector('[data-testid=stMain] h1'); return h ? h.innerText : null;"
STREAM_JS = """
const cap = Array.from(document.querySelectorAll('[data-testid=stCaptionContainer]'))
    .find(c => c.innerText.includes('Model output'));
const box = cap && cap.closest('[data-testid=stElementContainer]');
const next = box && box.nextElementSibling;
// Elements left from the previous run are marked stale until the new run replaces them.
const fresh = el => el && el.getAttribute('data-stale') !== 'true';
return fresh(box) && fresh(next) && next.getAttribute('data-testid') === 'stElementContainer' ? next.innerText : null;
"""


def wait_until(condition, timeout: float, poll: float = 0.02):
    """Poll `condition()` until it returns something truthy; return it, or raise after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"condition not met within {timeout} s")


def title_is(browser, title: str) -> bool:
    try:
        return (browser.driver.execute_script(TITLE_JS) or "").strip() == title
    except Exception:  # noqa: BLE001 - the page is being replaced; try again
        return False


def cold_start(workdir: Path, downloads: Path) -> dict:
    """Launch → health, launch → Write title drawn, launch → idle (first page fully rendered)."""
    began = time.monotonic()
    app = e2e.start_app(workdir)
    health = time.monotonic() - began
    browser = e2e.Browser(e2e.make_driver(downloads), app.url, downloads)
    try:
        browser.driver.get(app.url)
        wait_until(lambda: title_is(browser, "Write"), 600)
        drawn = time.monotonic() - began
        browser.wait_idle(timeout=600, settle=0.0)
        idle = time.monotonic() - began
    finally:
        browser.driver.quit()
        app.stop()
    return {"health": health, "drawn": drawn, "idle": idle}


def page_switches(browser, rounds: int) -> dict[str, list[float]]:
    """Seconds from a sidebar click to the target page's title drawn and Streamlit idle."""
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    for _ in range(rounds):
        for page in PAGES:
            link = next(a for a in browser.driver.find_elements("css selector", "[data-testid=stSidebarNav] a")
                        if a.text.strip().splitlines()[-1:] == [page])
            began = time.monotonic()
            link.click()
            wait_until(lambda: title_is(browser, page), 120)
            browser.wait_idle(timeout=120, settle=0.0)
            times[page].append(time.monotonic() - began)
            time.sleep(0.3)
    return times


def first_token(browser) -> tuple[float, float]:
    """(seconds to the first streamed text in the browser, seconds to the end of the draft run)."""
    began = time.monotonic()
    browser.click("Draft section", wait=False)
    wait_until(lambda: (browser.driver.execute_script(STREAM_JS) or "").strip(), 900)
    token = time.monotonic() - began
    time.sleep(1.0)
    browser.wait_idle(timeout=900, settle=0.0)
    return token, time.monotonic() - began


def plan_article(browser) -> None:
    browser.nav("Write")
    browser.fill("stTextInput", "Topic", "Parameter-efficient fine-tuning with LoRA and QLoRA", commit=False)
    browser.fill("stTextArea", "Key points", "LoRA trains low-rank adapters\nQLoRA quantizes the base model",
                 commit=False)
    browser.fill("stNumberInput", "Target length", "300", commit=False)
    browser.click("Plan outline")
    browser.wait_text("Evidence and draft", timeout=600)
    browser.select("Section", "LoRA trains low-rank adapters")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="page-switch rounds (each visits every page)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/results.md alone")
    args = parser.parse_args()
    reason = e2e.browser_missing_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    load_before = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="peerdraft-bench-ui-"))
    try:
        first = cold_start(work / "app", work / "downloads-1")
        restart = cold_start(work / "app", work / "downloads-2")
        app = e2e.start_app(work / "app")
        browser = e2e.Browser(e2e.make_driver(work / "downloads-3"), app.url, work / "downloads-3")
        try:
            browser.open("", timeout=600)
            switches = page_switches(browser, args.rounds)
            plan_article(browser)
            cold_token, cold_total = first_token(browser)
            warm_token, warm_total = first_token(browser)
        finally:
            browser.driver.quit()
            app.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()[0]

    all_switches = [t for times in switches.values() for t in times]
    lines = [
        "## UI speed in headless Chromium (bench/ui.py)",
        "",
        f"One run against `peerdraft run` on this machine ({os.cpu_count()} cores; 1-minute load average "
        f"{load_before:.1f} before, {load_after:.1f} after: other work shares the cores). Times are "
        "seconds, measured by polling the page every 20 ms.",
        "",
        "| what | seconds |",
        "|---|---:|",
        f"| first start (empty data dir, indexes the bundled corpus): launch → server health | {first['health']:.1f} |",
        f"| first start: launch → Write page drawn | {first['drawn']:.1f} |",
        f"| first start: launch → first page fully rendered (idle) | {first['idle']:.1f} |",
        f"| restart (index on disk): launch → server health | {restart['health']:.1f} |",
        f"| restart: launch → Write page drawn | {restart['drawn']:.1f} |",
        f"| restart: launch → first page fully rendered (idle) | {restart['idle']:.1f} |",
    ]
    for page, times in switches.items():
        lines.append(f"| page switch → {page} (median of {len(times)}) | {median(times):.2f} |")
    lines += [
        f"| page switch, all pages (median of {len(all_switches)}) | {median(all_switches):.2f} |",
        f"| \"Draft section\" → first streamed token, first draft (model loads) | {cold_token:.1f} |",
        f"| \"Draft section\" → draft verified and shown, first draft | {cold_total:.1f} |",
        f"| \"Draft section\" → first streamed token, second draft (model warm) | {warm_token:.1f} |",
        f"| \"Draft section\" → draft verified and shown, second draft | {warm_total:.1f} |",
        "",
        f"Restart to fully rendered is {restart['idle'] / restart['health']:.1f}x the server's own start "
        f"(health answer); the first start spends {first['idle'] - restart['idle']:.0f} s more, mostly "
        "indexing the bundled corpus. Drafts: the embedded SmolLM2-135M through the configured backend, "
        "a ~300-word brief, one core section.",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("ui", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
