"""Mermaid diagrams drawn to SVG on the server by the bundled mermaid (strict security mode) in headless Chromium.

mermaid is JavaScript and needs a browser's layout engine to measure text, so PeerDraft runs the
copy it ships (`engine/assets/mermaid.min.js.gz`, MIT, v12.3.0) in the headless Chromium that
also prints PDFs: one local page, a Content-Security-Policy that allows its inline script and
nothing else (no network), `securityLevel: "strict"` (labels are text, never HTML or links that run
code). Each source is drawn once per process (cached); a block that does not parse comes back with
mermaid's error message so the page can show the source and why.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from engine.render import Diagram

MERMAID_VERSION = "12.3.0"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_CHROMIUM = ("Install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`, or run "
                    "`sudo scripts/setup.sh`), then reload.")
_TIMEOUT_S = 90

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
</head><body><pre id="out">pending</pre><script>{mermaid}</script><script>
async function toPng(svg) {{  // for DOCX: Word and LibreOffice show a PNG everywhere
  const doc = new DOMParser().parseFromString(svg, "image/svg+xml").documentElement;
  const box = (doc.getAttribute("viewBox") || "0 0 800 600").split(/[ ,]+/).map(Number);
  const scale = 2, width = Math.ceil(box[2]), height = Math.ceil(box[3]);
  doc.setAttribute("width", width); doc.setAttribute("height", height); doc.removeAttribute("style");
  const data = new XMLSerializer().serializeToString(doc);
  const image = new Image();
  image.src = "data:image/svg+xml;base64," + btoa(unescape(encodeURIComponent(data)));
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = width * scale; canvas.height = height * scale;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(image, 0, 0, canvas.width, canvas.height);
  return canvas.toDataURL("image/png").split(",")[1];
}}
(async () => {{
  const sources = JSON.parse(atob("{sources}")).map(s => new TextDecoder().decode(Uint8Array.from(atob(s), c => c.charCodeAt(0))));
  mermaid.initialize({{startOnLoad: false, securityLevel: "strict", htmlLabels: false,
                      flowchart: {{htmlLabels: false}}, theme: "default", fontFamily: "sans-serif"}});
  const results = [];
  for (let i = 0; i < sources.length; i++) {{
    try {{
      await mermaid.parse(sources[i]);
      const drawn = await mermaid.render("pd-diagram-" + i, sources[i]);
      results.push({{svg: drawn.svg, png: await toPng(drawn.svg).catch(() => "")}});
    }} catch (e) {{
      results.push({{error: String((e && (e.message || e.str)) || e)}});
    }}
  }}
  const bytes = new TextEncoder().encode(JSON.stringify(results));
  let binary = ""; for (const b of bytes) binary += String.fromCharCode(b);
  document.getElementById("out").textContent = "done:" + btoa(binary);
}})();
</script></body></html>"""


def chromium_path() -> str | None:
    """The headless-capable Chromium/Chrome on PATH, or None."""
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def chromium_command(binary: str, *args: str) -> list[str]:
    """A headless Chromium command line that reaches no network and keeps no profile."""
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--no-first-run",
            "--disable-background-networking", "--disable-sync", "--proxy-server=127.0.0.1:9",
            "--disable-dev-shm-usage", *args]


@lru_cache(maxsize=1)
def _mermaid_js() -> str:
    data = (Path(__file__).parent / "assets" / "mermaid.min.js.gz").read_bytes()
    # "</script" cannot appear inside an inline script; mermaid's bundle has none, but be sure.
    return gzip.decompress(data).decode("utf-8").replace("</script", "<\\/script")


_cache: dict[str, Diagram] = {}  # source → drawn diagram; drawing is deterministic and costs a browser start
_failed: dict[str, tuple[Diagram, float]] = {}  # source → (why Chromium did not draw it, when)
RETRY_AFTER_S = 120.0
_lock = threading.Lock()


def render_mermaid(sources: Sequence[str]) -> list[Diagram]:
    """SVG (or the error) for each Mermaid source, in order; sources drawn before come from the cache."""
    now = time.monotonic()
    with _lock:
        failed = {s: d for s, (d, at) in _failed.items() if now - at < RETRY_AFTER_S}
    missing = list(dict.fromkeys(s for s in sources if s not in _cache and s not in failed))
    fresh: dict[str, Diagram] = {}
    if missing:
        drawn, ran = _draw(missing)
        fresh = dict(zip(missing, drawn))
        with _lock:  # every Streamlit session renders from its own thread
            if ran:  # mermaid's own verdict (a picture or a parse error) holds until the source changes
                while _cache and len(_cache) + len(fresh) > 512:
                    _cache.pop(next(iter(_cache)))
                _cache.update(fresh)
            else:  # Chromium failed: a page that reruns every few seconds must not wait on it each time
                _failed.update({s: (d, now) for s, d in fresh.items()})
    return [_cache.get(s) or fresh.get(s) or failed[s] for s in sources]


def _draw(sources: list[str]) -> tuple[list[Diagram], bool]:
    """The sources drawn in one headless Chromium run, and whether mermaid ran (False: Chromium failed)."""
    binary = chromium_path()
    if binary is None:
        return [Diagram(s, error=f"drawing diagrams needs Chromium, which is not installed. {INSTALL_CHROMIUM}")
                for s in sources], False
    encoded = base64.b64encode(json.dumps(
        [base64.b64encode(s.encode("utf-8")).decode("ascii") for s in sources]).encode("ascii")).decode("ascii")
    with tempfile.TemporaryDirectory(prefix="peerdraft-mermaid-") as tmp:
        page = Path(tmp) / "draw.html"
        page.write_text(_PAGE.format(mermaid=_mermaid_js(), sources=encoded), encoding="utf-8")
        command = chromium_command(binary, f"--user-data-dir={tmp}/profile", "--virtual-time-budget=30000",
                                   "--dump-dom", page.as_uri())
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [Diagram(s, error=f"Chromium did not finish drawing ({exc}).") for s in sources], False
    match = re.search(r"done:([A-Za-z0-9+/=]+)", done.stdout)
    if match is None:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        return [Diagram(s, error=f"Chromium did not draw the diagram ({reason}).") for s in sources], False
    payload = json.loads(base64.b64decode(match.group(1)).decode("utf-8"))
    return [Diagram(s, svg=item.get("svg", ""), error=item.get("error", ""), png=item.get("png", "")) for s, item in zip(sources, payload)], True
