"""The report: its two renderers, and the stage on the committed run's outputs."""

from __future__ import annotations

import base64
import re

import pytest
from conftest import git_init, run, set_params

from hw2.document import Block, Code, Heading, Image, Para, Table, to_html, to_markdown

SECTIONS = (
    "## Question 1",
    "### Q1.1 and Q1.2: parameters",
    "### Q1.3",
    "## Question 2",
    "### Q2.1",
    "### Q2.2",
    "### Q2.3",
    "## Question 3",
    "### Q3.1",
    "### Test metrics",
    "### Three images captioned",
    "## Appendix: the parameters of this run (params.yaml)",
)


def test_markdown_and_html_render_the_same_blocks():
    blocks: list[Block] = [
        Heading(1, "T <1>"),
        Para("a `x < y` and **b**"),
        Table(["h|1", "h2"], [["a", "b|c"]]),
        Image("plots/a b.png", 'alt "q"'),
        Code("if a < b:\n    pass\n"),
    ]
    md = to_markdown(blocks)
    assert md.startswith("# T <1>\n\n") and "| h\\|1 | h2 |\n| --- | --- |\n| a | b\\|c |" in md
    assert '![alt "q"](plots/a b.png)' in md and "```\nif a < b:\n    pass\n```\n" in md
    page = to_html(blocks, "title")
    assert "<h1>T &lt;1&gt;</h1>" in page and "<code>x &lt; y</code>" in page and "<strong>b</strong>" in page
    assert '<img src="plots/a b.png" alt="alt &quot;q&quot;">' in page and "<script" not in page
    assert "<pre><code>if a &lt; b:" in page
    with pytest.raises(TypeError, match="not a report block"):
        to_markdown(["text"])  # type: ignore[list-item]  # the wrong type is what is tested


def check_report(repo) -> str:
    """Every section present; every image link of REPORT.md resolving to a file, and REPORT.html
    holding those very files, inlined (one self-contained file)."""
    report = (repo / "REPORT.md").read_text()
    found = [report.find(section) for section in SECTIONS]
    assert -1 not in found and found == sorted(found), dict(
        zip(SECTIONS, found, strict=True)
    )  # all, in order: params last
    assert report.find("```") > report.find("## Question 3")  # no listing before the answers
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert len(links) >= 12 and all((repo / link).is_file() for link in links), links
    page = (repo / "REPORT.html").read_text()
    inlined = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(inlined) == len(re.findall(r"<img ", page)) == len(links)
    assert [base64.b64decode(b) for b in inlined] == [(repo / link).read_bytes() for link in links]
    return report


def test_the_report_stage_on_the_committed_outputs(repo):
    proc = run(["python", "stages/report.py"], repo)
    assert "REPORT.md and REPORT.html written" in proc.stdout
    # the committed run is synthetic with a random encoder: both said again at the end
    assert "WARNING: the captioning results come from the SYNTHETIC demo set" in proc.stderr
    assert "WARNING: the image features come from a RANDOMLY INITIALISED ResNet-18" in proc.stderr
    report = check_report(repo)
    assert "**10,298 parameters**" in report and "**236,310 parameters**" in report
    assert "All identities hold: **yes**" in report and "(best)" in report
    assert "**`A = W_Q W_Kᵀ`**" in report and "`A = W_Q W_Kᵀ / √d`" in report  # the homework's (1) and the scaled
    assert "equivariant to translation" in report and "edges and colour blobs first" in report
    assert "reading each region's features layer-normalised" in report  # the committed feature_norm: true
    assert "git commit checked out | `(not a git checkout)` |" in report


def test_the_report_names_the_commit_and_says_when_the_code_that_ran_differs(repo):
    git_init(repo)
    sha = run(["git", "rev-parse", "HEAD"], repo).stdout.strip()
    run(["python", "stages/report.py"], repo)
    assert f"git commit checked out | `{sha}` |" in (repo / "REPORT.md").read_text()
    set_params(repo, lr=[0.1])  # what `dvc exp run -S lr=0.1` does to the workspace
    run(["python", "stages/report.py"], repo)
    assert (
        f"| `{sha}` + uncommitted changes to src/, stages/, dvc.yaml or params.yaml |"
        in (repo / "REPORT.md").read_text()
    )
