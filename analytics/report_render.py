"""A tiny document model (headings, paragraphs, tables, lists, images) rendered to Markdown and to one
standalone HTML page (inline CSS, PNG images embedded as base64 data URIs, no external resources)."""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.5}
h1{border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:1.8em;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f5f5f5}tr:nth-child(even) td{background:#fafafa}
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{color:#666;font-size:.9em}
.muted{color:#777}
"""


@dataclass
class Heading:
    """Section heading (level 1-4)."""

    text: str
    level: int = 2


@dataclass
class Paragraph:
    """Plain text paragraph."""

    text: str
    muted: bool = False


@dataclass
class Table:
    """Header row plus body rows of already formatted cells."""

    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Bullets:
    """Unordered list."""

    items: list[str]


@dataclass
class Image:
    """A PNG on disk, with a caption."""

    caption: str
    path: str


Block = Heading | Paragraph | Table | Bullets | Image


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], base_dir: str | Path | None = None) -> str:
    """Markdown text; image paths are made relative to ``base_dir`` when given."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append("#" * b.level + " " + b.text)
        elif isinstance(b, Paragraph):
            out.append(f"*{b.text}*" if b.muted else b.text)
        elif isinstance(b, Table):
            lines = [
                "| " + " | ".join(_md_cell(c) for c in b.columns) + " |",
                "|" + "|".join("---" for _ in b.columns) + "|",
            ]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {item}" for item in b.items))
        elif isinstance(b, Image):
            path = os.path.relpath(b.path, base_dir) if base_dir else b.path
            out.append(f"![{b.caption}]({Path(path).as_posix()})")
    return "\n\n".join(out) + "\n"


def _data_uri(path: str) -> str | None:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def to_html(blocks: list[Block], title: str) -> str:
    """One self-contained HTML page: every image is inlined; a missing image becomes a note."""
    esc = html.escape
    body: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif isinstance(b, Paragraph):
            cls = ' class="muted"' if b.muted else ""
            body.append(f"<p{cls}>{esc(b.text)}</p>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{esc(c)}</th>" for c in b.columns)
            rows = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in b.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{esc(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Image):
            uri = _data_uri(b.path)
            if uri is None:
                body.append(f'<p class="muted">[chart unavailable: {esc(b.caption)}]</p>')
            else:
                body.append(
                    f'<figure><img alt="{esc(b.caption)}" src="{uri}">'
                    f"<figcaption>{esc(b.caption)}</figcaption></figure>"
                )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
