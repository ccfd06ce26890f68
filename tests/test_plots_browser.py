"""`dvc plots show` seen in a real browser: headless Chromium loads the page DVC writes, offline,
and every chart and every image must render."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import git_init, run

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium on PATH (make test installs Debian's "
                                                        "chromium where apt works)")

# Runs in the page once it has loaded: how many vega charts drew their marks, how many images decoded.
PROBE = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const embeds = [...document.querySelectorAll(".vega-embed")];
  const drawn = embeds.filter(e => e.querySelector("canvas.marks, svg.marks"));
  const images = [...document.images];
  document.title = "PROBE" + JSON.stringify({charts: embeds.length, drawn: drawn.length, images: images.length,
    decoded: images.filter(i => i.complete && i.naturalWidth > 0).length});
}, 3000));
</script>
</body>"""


def chromium(*args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--virtual-time-budget=15000", *args], capture_output=True, text=True, timeout=timeout)


def test_dvc_plots_show_renders_every_chart_and_image_offline(repo, tmp_path):
    git_init(repo)
    out = tmp_path / "dvc_plots"
    run(["dvc", "plots", "show", "-o", str(out)], repo)
    page = (out / "index.html").read_text()
    assert "cdn.jsdelivr" not in page  # vega comes inlined from .dvc/plots/offline.html
    charts = len(re.findall(r"vegaEmbed\('#", page))
    images = len(re.findall(r'<img src="static/', page))
    assert charts == 6 and images == 11, (charts, images)

    probe = out / "probe.html"
    head, _, tail = page.rpartition("</body>")  # the last one: the inlined vega code holds the string too
    probe.write_text(head + PROBE + tail)
    dom = chromium("--dump-dom", probe.as_uri()).stdout
    found = re.search(r"<title>PROBE(.*?)</title>", dom)
    assert found, dom[-2000:]
    seen = json.loads(html.unescape(found.group(1)))
    assert seen == {"charts": charts, "drawn": charts, "images": images, "decoded": images}

    shot = tmp_path / "page.png"
    chromium("--window-size=1400,3000", f"--screenshot={shot}", (out / "index.html").as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (3000, 1400)
    assert len(np.unique(pixels[:1200].reshape(-1, 3), axis=0)) > 100  # the charts at the top are drawn
