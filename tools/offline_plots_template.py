"""Builds .dvc/plots/offline.html: DVC's page for `dvc plots show` with vega, vega-lite and
vega-embed inlined instead of loaded from a CDN, so the charts render with no network.

The versions are the ones dvc-render 1.0.2 (DVC 3.67) loads; all three are BSD-3-Clause, by the
University of Washington Interactive Data Lab. `.dvc/config` points `plots.html_template` at the
result. Needs npm (the registry) only when rebuilding; the built page is committed.

    python tools/offline_plots_template.py
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"vega": "5.20.2", "vega-lite": "5.2.0", "vega-embed": "6.18.2"}
OUT = ROOT / ".dvc" / "plots" / "offline.html"

PAGE = """<!DOCTYPE html>
<html>
<head>
    {{refresh_tag}}
    <meta charset="utf-8">
    <title>DVC Plot</title>
    <!-- {credits}: inlined from npm by tools/offline_plots_template.py so that the charts render offline -->
{scripts}
    <style>
        table {{
            border-spacing: 15px;
        }}
    </style>
</head>
<body>
    {{plot_divs}}
</body>
</html>
"""


def main():
    scripts = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in PACKAGES.items():
            tgz = (
                subprocess.run(
                    ["npm", "pack", "--silent", f"{name}@{version}"],
                    cwd=tmp,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            with tarfile.open(Path(tmp) / tgz) as tar:
                member = tar.extractfile(f"package/build/{name}.min.js")
                if member is None:
                    sys.exit(f"{tgz}: package/build/{name}.min.js is not a file")
                js = member.read().decode()
            if "</script" in js or "{plot_divs}" in js or "{refresh_tag}" in js:
                raise SystemExit(f"{name} {version}: cannot be inlined as it is")
            scripts.append(f"    <script>{js}</script>")
    credits = ", ".join(f"{n} {v}" for n, v in PACKAGES.items()) + " (BSD-3-Clause, UW Interactive Data Lab)"
    OUT.write_text(PAGE.format(credits=credits, scripts="\n".join(scripts)))
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
