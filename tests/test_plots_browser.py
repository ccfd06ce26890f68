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
from conftest import git_init, run
from PIL import Image

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(
    BROWSER is None, reason="no Chromium on PATH (make test installs Debian's chromium where apt works)"
)

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
    assert BROWSER is not None  # the tests that call it are skipped without one
    return subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--virtual-time-budget=15000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_dvc_plots_show_renders_every_chart_and_image_offline(repo, tmp_path):
    git_init(repo)
    out = tmp_path / "dvc_plots"
    run(["dvc", "plots", "show", "-o", str(out)], repo)
    page = (out / "index.html").read_text()
    assert "cdn.jsdelivr" not in page  # vega comes inlined from .dvc/plots/offline.html
    charts = len(re.findall(r"vegaEmbed\('#", page))
    images = len(re.findall(r'<img src="static/', page))
    assert charts == 7 and images == 13, (charts, images)

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


# Wraps vegaEmbed before the page's charts are embedded, then counts, per chart, the lines drawn and
# how many distinct (colour, dash) styles they have: the lines a reader can tell apart.
CAPTURE = """<script>
window.__views = [];
const __embed = window.vegaEmbed;
window.vegaEmbed = (el, spec, opt) => __embed(el, spec, opt).then(r => {
  window.__views.push([spec.title && (spec.title.text || spec.title), r.view]); return r; });
</script>
</head>"""
STYLES = """<script>
window.addEventListener("load", () => setTimeout(() => {
  const charts = {};
  for (const [title, view] of window.__views) {
    const styles = new Set(); let lines = 0;
    (function walk(mark) {
      if (mark.marktype === "line" && mark.items.length) {
        lines += 1;
        styles.add(JSON.stringify([mark.items[0].stroke, mark.items[0].strokeDash || null]));
      }
      for (const item of mark.items || []) for (const child of item.items || []) walk(child);
    })(view.scenegraph().root);
    charts[title] = [lines, styles.size];
  }
  document.title = "PROBE" + JSON.stringify(charts);
}, 3000));
</script>
</body>"""


def second_revision(repo):
    """Commit a second version of every plotted series (values scaled by 0.97), as another run would."""
    import csv

    for path in [*repo.glob("plots/cnn/*.csv"), repo / "plots/captioning/runs.csv"]:
        delimiter = "\t" if path.suffix == ".tsv" else ","
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=delimiter))
        for row in rows[1:]:
            for i, name in enumerate(rows[0]):
                if name in ("train_loss", "val_acc", "val_bleu4") or name == "lr" and path.name == "runs.csv":
                    # (not the sweep's rate column, which names its lines)
                    row[i] = repr(float(row[i]) * 0.97)
        with open(path, "w", newline="") as f:
            csv.writer(f, delimiter=delimiter, lineterminator="\n").writerows(rows)
    run(["git", "commit", "-qam", "a second run"], repo)


def test_dvc_plots_diff_tells_the_two_revisions_apart_in_every_chart(repo, tmp_path):
    git_init(repo)
    second_revision(repo)
    out = tmp_path / "diff"
    run(["dvc", "plots", "diff", "HEAD~1", "-o", str(out)], repo)
    page = (out / "index.html").read_text()
    head, _, rest = page.rpartition("</head>")  # the last: the inlined vega code holds the string too
    body, _, tail = rest.rpartition("</body>")
    probe = out / "probe.html"
    probe.write_text(head + CAPTURE + body + STYLES + tail)
    dom = chromium("--dump-dom", probe.as_uri()).stdout
    found = re.search(r"<title>PROBE(.*?)</title>", dom)
    assert found, dom[-2000:]
    charts = json.loads(html.unescape(found.group(1)))
    rates = len(json.loads((repo / "metrics/cnn.json").read_text())["rates"])
    runs = json.loads((repo / "metrics/captioning.json").read_text())["runs_per_decoder"] * 2  # decoders x seeds
    expected = {  # line styles per chart: (series per revision) x 2 revisions
        "Training loss per epoch (best learning rate)": 2,
        "Validation accuracy per epoch (best learning rate)": 2,
        "Validation accuracy per epoch, one line per learning rate": 2 * rates,
        "Training loss per epoch, one line per learning rate": 2 * rates,
        "Caption decoders, training loss per epoch, one line per decoder and seed": 2 * runs,
        "Caption decoders, validation BLEU-4 per epoch (greedy decoding), one line per decoder and seed": 2 * runs,
        "Caption decoders, learning rate per epoch (cut when validation BLEU-4 stalls)": 2 * runs,
    }
    # (DVC's linear template draws each line twice, as a line and under its hover layer: count styles)
    assert {title: styles for title, (lines, styles) in charts.items()} == expected, charts
    assert all(lines >= expected[title] for title, (lines, styles) in charts.items()), charts


def test_the_report_is_one_self_contained_file_that_renders_and_prints(repo, tmp_path):
    run(["python", "stages/report.py"], repo)
    alone = tmp_path / "handin"
    alone.mkdir()
    page = (repo / "REPORT.html").read_text()
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing it would have to fetch
    images = len(re.findall(r"<img ", page))
    assert images >= 12
    head, _, tail = page.rpartition("</body>")
    (alone / "probe.html").write_text(head + PROBE + tail)  # alone in an empty folder: no file beside it
    dom = chromium("--dump-dom", (alone / "probe.html").as_uri()).stdout
    found = re.search(r"<title>PROBE(.*?)</title>", dom)
    assert found, dom[-2000:]
    assert json.loads(html.unescape(found.group(1))) == {"charts": 0, "drawn": 0, "images": images, "decoded": images}

    # printed as `make handin` prints it
    (alone / "REPORT.html").write_text(page)
    pdf = alone / "REPORT.pdf"
    chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", (alone / "REPORT.html").as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 8 <= pages <= 40, pages  # every section, on A4/Letter pages, not one endless page
    assert len(re.findall(rb"/Subtype\s*/Image", data)) >= images  # the figures are in it, not blank boxes
    assert b"/Font" in data  # and the text
