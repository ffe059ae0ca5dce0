"""Renders rows as aligned text and as HTML tables; it computes nothing itself."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from decimal import Decimal


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """Rows as aligned text; numeric columns are right-aligned, the others left-aligned.

    >>> print(text_table(["model", "tokens"], [["gpt-4o", 12]]))
    model   tokens
    gpt-4o      12
    """
    cells = [[str(h) for h in headers], *[[_one_line(_fmt(c)) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_NUMERIC.match(row[i]) for row in cells[1:]) for i in range(len(headers))]
    lines = [title] if title else []
    for row in cells:
        parts = [
            c.rjust(w) if right else c.ljust(w) for c, w, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


_CONTROLS = {i: f"\\x{i:02x}" for i in range(32)} | {10: "\\n", 13: "\\r", 9: "\\t", 0x2028: "\\u2028",
                                                  0x2029: "\\u2029", 0x85: "\\x85"}  # fmt: skip


def _one_line(cell: str) -> str:
    """A cell's line breaks and control characters written as escapes: one row stays one line.

    >>> _one_line("id\\nsecond row")
    'id\\\\nsecond row'
    """
    return cell.translate(_CONTROLS)


def html_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """Rows as an HTML table (for Jupyter's ``_repr_html_``), every cell escaped; numeric columns
    are right-aligned and the others left-aligned, inline, whatever the notebook's style sheet."""
    cells = [[_fmt(c) for c in row] for row in rows]
    numeric = [bool(cells) and all(_NUMERIC.match(row[i]) for row in cells) for i in range(len(headers))]
    align = ['style="text-align:right"' if n else 'style="text-align:left"' for n in numeric]
    head = "".join(f"<th {a}>{html.escape(str(h))}</th>" for h, a in zip(headers, align, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td {a}>{html.escape(c)}</td>" for c, a in zip(row, align, strict=True)) + "</tr>"
        for row in cells
    )
    style = 'style="text-align:left;font-weight:bold"'
    caption = f"<caption {style}>{html.escape(title)}</caption>" if title else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_NUMERIC = re.compile(r"^[-+$]?[\d,.]*\d[\d,.]*( ~|%)?$|^$")


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def money(amount: Decimal | None) -> str:
    """USD for people: cents from $1 up, three significant digits below, ``n/a`` for no price.

    >>> money(Decimal("1234.5678")), money(Decimal("0.09503895")), money(Decimal("0.5")), money(Decimal(0))
    ('$1,234.57', '$0.0950', '$0.500', '$0')
    """
    if amount is None:
        return "n/a"
    if amount == 0:
        return "$0"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    digits = 2 - amount.adjusted()  # three significant digits
    return f"${amount:.{digits}f}"


def html_list(items: Sequence[str], title: str = "") -> str:
    """Items as an HTML list under an optional heading, every item escaped."""
    head = f"<p><b>{html.escape(title)}</b></p>" if title else ""
    return head + "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


_STYLE = ("<style>.tokenomy-report table{border-collapse:collapse;margin:0 0 .8em 0}"
          ".tokenomy-report caption{padding:.3em 0}"
          ".tokenomy-report td,.tokenomy-report th{padding:.15em .7em;border-bottom:1px solid #ddd}"
          ".tokenomy-report th{white-space:nowrap}.tokenomy-report ul{margin:.2em 0}</style>")  # fmt: skip


def html_report(parts: Sequence[str]) -> str:
    """Rendered parts (tables, lists) as one block with light rules between rows."""
    return '<div class="tokenomy-report">' + _STYLE + "".join(parts) + "</div>"
