"""Rows of the result table and how they print: our figure, its baseline, the ratio,
the goal and whether it is met, plus notes that explain a figure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Row:
    key: str                     # "1", "2a", ...
    figure: str                  # what is measured
    ours: str = "n/a"
    baseline: str = "n/a"
    ratio: float = math.nan
    goal: str = ""
    met: bool | None = None      # None: no goal, or not measured
    miss: str = ""               # by how much a goal was missed, for the sentence
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "—"
        return "met" if self.met else "MISSED"

    @property
    def ratio_text(self) -> str:
        return "" if math.isnan(self.ratio) else f"{self.ratio:.2f}×"


HEADERS = ("#", "figure", "ours", "baseline", "ratio", "goal", "result")


def _cells(row: Row) -> tuple[str, ...]:
    return (row.key, row.figure, row.ours, row.baseline, row.ratio_text, row.goal, row.verdict)


def render_text(rows: list[Row]) -> str:
    """A fixed-width table for the terminal, notes below it."""
    cells = [HEADERS, *(_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(HEADERS))]
    lines = []
    for index, line in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  [{r.key}] {n}" for r in rows for n in r.notes]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines)


def render_markdown(rows: list[Row]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(esc(c) for c in _cells(r)) + " |" for r in rows]
    return "\n".join(lines)
