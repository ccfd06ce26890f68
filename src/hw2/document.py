"""A small document model rendered twice: Markdown and standalone HTML (no scripts, no network: it
opens offline, with its images inlined, or linked relative to the page).

Blocks: ``Heading(level, text)``, ``Para(text)``, ``Table(header, rows)``, ``Image(path, alt)``,
``Code(text)``. Text may hold `code spans` and **bold**, the only inline markup used.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Heading:
    level: int
    text: str


@dataclass
class Para:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    path: str  # relative to the report's folder
    alt: str


@dataclass
class Code:
    text: str


Block = Heading | Para | Table | Image | Code


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Table):
            cells = [b.header, ["---"] * len(b.header)] + b.rows
            out.append("\n".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells))
        elif isinstance(b, Image):
            out.append(f"![{b.alt}]({b.path})")
        elif isinstance(b, Code):
            out.append("```\n" + b.text.rstrip("\n") + "\n```")
        else:
            raise TypeError(f"not a report block: {b!r}")
    return "\n\n".join(out) + "\n"


def _data_uri(path: Path) -> str:
    kind = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}.get(
        path.suffix.lower(), "application/octet-stream"
    )
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _inline(text: str) -> str:
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45;"
    "color:#222}\n"
    """table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}
th{background:#f0f0f0}img{max-width:100%;border:1px solid #ddd}figure{margin:1rem 0}
figcaption{font-size:.85rem;color:#555}@media print{body{max-width:none;margin:0}figure,table{break-inside:avoid}}
pre{background:#f6f6f6;padding:.8rem;overflow-x:auto}code{background:#f3f3f3;padding:0 .2rem}"""
)


def to_html(blocks: list[Block], title: str, images_from: Path | None = None) -> str:
    """Standalone HTML. With ``images_from`` (the folder image paths are relative to), every image is
    inlined as a data URI, so the page is one self-contained file (to upload or print); without
    it, images are linked by their paths."""
    out = [
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>',
        f"<style>\n{STYLE}\n</style>\n</head>\n<body>",
    ]
    for b in blocks:
        if isinstance(b, Heading):
            level = min(max(b.level, 1), 6)
            out.append(f"<h{level}>{_inline(b.text)}</h{level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{_inline(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{_inline(c)}</th>" for c in b.header)
            body = "\n".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            out.append(f"<table>\n<tr>{head}</tr>\n{body}\n</table>")
        elif isinstance(b, Image):
            src = html.escape(b.path) if images_from is None else _data_uri(Path(images_from) / b.path)
            out.append(
                f'<figure><img src="{src}" alt="{html.escape(b.alt)}">'
                f"<figcaption>{_inline(b.alt)}</figcaption></figure>"
            )
        elif isinstance(b, Code):
            out.append(f"<pre><code>{html.escape(b.text)}</code></pre>")
        else:
            raise TypeError(f"not a report block: {b!r}")
    out.append("</body>\n</html>\n")
    return "\n".join(out)
