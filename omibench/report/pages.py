"""Render report sections as one self-contained HTML page (jinja2, figures embedded) and Markdown
(figures written beside it). A section is a heading, paragraphs, tables and figures."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

__all__ = ["Section", "write_pages"]


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (caption, table)
    figures: list[tuple[str, str, bytes]] = field(default_factory=list)  # (title, caption, png)


_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}p.note{color:#444}</style></head>
<body><h1>{{ title }}</h1>
{% for p in intro %}<p>{{ p }}</p>{% endfor %}
{% for s in sections %}<h2>{{ s.heading }}</h2>
{% for p in s.paragraphs %}<p class="note">{{ p }}</p>{% endfor %}
{% for caption, table in s.tables %}{% if caption %}<h3>{{ caption }}</h3>{% endif %}{{ table | safe }}{% endfor %}
{% for name, caption, data in s.figures %}<h3>{{ name }}: {{ caption }}</h3>
<img src="data:image/png;base64,{{ data }}" style="max-width:100%">{% endfor %}
{% endfor %}</body></html>
"""


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def write_pages(out: Path, title: str, intro: list[str], sections: list[Section]) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (+ ``figures/NN_<name>.png``) into ``out``."""
    import jinja2
    from tabulate import tabulate

    out.mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(exist_ok=True)
    md = [f"# {title}", "", *[line for p in intro for line in (p, "")]]
    rendered = []
    index = 0
    for section in sections:
        md += [f"## {section.heading}", ""]
        for p in section.paragraphs:
            md += [p, ""]
        tables = []
        for caption, table in section.tables:
            if caption:
                md += [f"### {caption}", ""]
            md += [tabulate(table, headers="keys", tablefmt="github", showindex=False, disable_numparse=True), ""]
            tables.append((caption, table.to_html(index=False, escape=True)))
        figures = []
        for name, caption, png in section.figures:
            path = f"figures/{index:02d}_{_slug(name)}.png"
            index += 1
            (out / path).write_bytes(png)
            md += [f"### {name}: {caption}", "", f"![{caption}]({path})", ""]
            figures.append((name, caption, base64.b64encode(png).decode()))
        rendered.append(
            {"heading": section.heading, "paragraphs": section.paragraphs, "tables": tables, "figures": figures}
        )
    env = jinja2.Environment(autoescape=True)
    page = env.from_string(_TEMPLATE).render(title=title, intro=intro, sections=rendered)
    (out / "report.html").write_text(page)
    (out / "report.md").write_text("\n".join(md))
    return out / "report.html", out / "report.md"
