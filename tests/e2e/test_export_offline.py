"""The standalone HTML export, opened in headless Chromium with the network off: math and the diagram are drawn."""

from __future__ import annotations

import io
import re

import pytest

from e2e.conftest import ARTIFACTS, browser_missing_reason, make_driver
from engine import export
from test_publish import ARTICLE

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(browser_missing_reason() is not None,
                                                   reason=browser_missing_reason() or "")]

_VISIBLE = """
const rect = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; };
return {
  text: document.body.innerText,
  math: [...document.querySelectorAll('math')].map(rect),
  diagram: [...document.querySelectorAll('figure.diagram img')].map(
      img => ({complete: img.complete, width: img.naturalWidth, rect: rect(img)})),
  errors: document.querySelectorAll('.math-error, .diagram-error').length,
};
"""


def _inked(png: bytes, box, scale: float) -> float:
    """Share of non-white pixels inside `box` (CSS pixels) of a screenshot."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    left, top, width, height = (int(v * scale) for v in box)
    crop = image.crop((left, top, left + max(width, 1), top + max(height, 1)))
    histogram = crop.histogram()  # 256 bins of grey levels
    return sum(histogram[:200]) / max(sum(histogram), 1)


def test_exported_html_draws_math_and_diagram_offline(tmp_path):
    page = tmp_path / "article.html"
    page.write_text(export.to_html(ARTICLE.replace("![secret](LOCAL_FILE)", "")), encoding="utf-8")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = make_driver(downloads)
    try:
        driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
        driver.set_window_size(1100, 3000)
        driver.get(page.as_uri())
        state = driver.execute_script(_VISIBLE)
        png = driver.get_screenshot_as_png()
        scale = driver.execute_script("return window.devicePixelRatio") or 1
    finally:
        driver.quit()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "export-offline.png").write_bytes(png)
    text = state["text"]
    for raw in ("$$", "\\begin", "\\mathbf", "flowchart", "-->"):
        assert raw not in text, f"{raw!r} is visible: the export shows source instead of a drawing"
    assert not re.search(r"\\[A-Za-z]+", text), re.findall(r"\\[A-Za-z]+", text)  # no LaTeX command left raw
    assert state["errors"] == 0
    assert len(state["math"]) >= 5 and all(w > 0 and h > 0 for _, _, w, h in state["math"])
    (diagram,) = state["diagram"]
    assert diagram["complete"] and diagram["width"] > 100
    assert _inked(png, diagram["rect"], scale) > 0.02  # boxes, arrows and labels are on the screen
    aligned = max(state["math"], key=lambda r: r[3])  # the tallest formula: the two-row aligned block
    assert _inked(png, aligned, scale) > 0.02
    assert "Dense Passage Retrieval for Open-Domain Question Answering" in text
