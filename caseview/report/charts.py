"""The note's two pictures, drawn with reportlab's own graphics (no matplotlib).

- :func:`timeline`: when the sources were captured, viewed (imports) and, where the
  page says, published; one lane each, bars counting sources per day, week or month
  (the unit widens as the dates spread, so 1 source and 2,000 both read clearly).
- :func:`observation_chart`: observations by assessment domain, by source reliability
  and by information credibility, each bar split into relied upon and not.

Both return ``None`` when there is nothing to draw; the caller says so in words. Every
label goes through :func:`caseview.report.text.visible`, and nothing here reads a
clock: the same data draws the same picture.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import stringWidth

from caseview.report import fonts
from caseview.report.model import DOMAINS, ReportObservation, ReportSource
from caseview.report.text import fit

RELIED = colors.HexColor("#1d5b79")
NOT_RELIED = colors.HexColor("#c8cdd3")
INK = colors.HexColor("#222222")
MUTED = colors.HexColor("#666666")
GRID = colors.HexColor("#dddddd")

RELIABILITY = {
    "A": "Completely reliable",
    "B": "Usually reliable",
    "C": "Fairly reliable",
    "D": "Not usually reliable",
    "E": "Unreliable",
    "F": "Cannot be judged",
}
CREDIBILITY = {
    1: "Confirmed",
    2: "Probably true",
    3: "Possibly true",
    4: "Doubtful",
    5: "Improbable",
    6: "Cannot be judged",
}

BAR_NOTE = "The numbers beside each bar: relied upon + not relied upon."

Unit = Literal["day", "week", "month"]

# --- timeline --------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    drawing: Drawing
    unit: Unit
    counts: dict[str, int]  # lane label -> sources plotted in it
    unreadable_published: int  # published dates stated but not readable as a date


_PUBLISHED_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y", "%d/%m/%Y", "%B %Y")


def parse_published(text: str | None) -> date | None:
    """The date a page states it was published, if it reads as one; else ``None``.

    ISO dates and times (``2026-03-14``, ``2026-03-14T10:00:00Z``) and the usual
    written forms (``14 March 2026``, ``March 14, 2026``, ``14/03/2026``) are read;
    relative phrases (``3 weeks ago``) are not, since the note cannot know "ago" from when.
    """
    if not text:
        return None
    cleaned = " ".join(text.split())
    iso = re.match(r"(\d{4})-(\d{2})-(\d{2})", cleaned)
    if iso:
        try:
            return date(int(iso[1]), int(iso[2]), int(iso[3]))
        except ValueError:
            return None
    for fmt in _PUBLISHED_FORMATS:
        try:
            return datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


def _day(moment: datetime) -> date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def _floor(d: date, unit: Unit) -> date:
    if unit == "week":
        return d - timedelta(days=d.weekday())
    if unit == "month":
        return d.replace(day=1)
    return d


def _step(d: date, unit: Unit, n: int = 1) -> date:
    if unit == "day":
        return d + timedelta(days=n)
    if unit == "week":
        return d + timedelta(weeks=n)
    months = d.year * 12 + d.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def _unit_for(span_days: int) -> Unit:
    if span_days <= 62:
        return "day"
    if span_days <= 7 * 78:
        return "week"
    return "month"


def timeline(sources: Sequence[ReportSource], width: float) -> Timeline | None:
    """Sources over time: one lane per kind of date, bars per day, week or month."""
    lanes: list[tuple[str, list[date]]] = []
    published = [parse_published(s.published) for s in sources]
    stated = sum(1 for s in sources if s.published and s.published.strip())
    readable = [d for d in published if d is not None]
    viewed = [_day(s.viewed_at) for s in sources if s.viewed_at is not None]
    if readable:
        lanes.append(("Published (as stated)", readable))
    if viewed:
        lanes.append(("Viewed (imports)", viewed))
    lanes.append(("Captured", [_day(s.captured_at) for s in sources]))
    every = [d for _, ds in lanes for d in ds]
    if not every:
        return None

    first, last = min(every), max(every)
    unit = _unit_for((last - first).days)
    lo, hi = _floor(first, unit), _step(_floor(last, unit), unit)
    if unit == "day" and (hi - lo).days < 15:  # a lone day sits mid-axis, not edge to edge
        pad = (15 - (hi - lo).days + 1) // 2
        lo, hi = lo - timedelta(days=pad), hi + timedelta(days=pad)
    span = (hi - lo).days

    label_w, lane_h, bar_h, axis_h = 92.0, 34.0, 24.0, 22.0
    plot_x, plot_w = label_w, width - label_w - 6
    height = lane_h * len(lanes) + axis_h
    drawing = _drawing(width, height)

    def x_of(d: date) -> float:
        return plot_x + plot_w * (d - lo).days / span

    tallest = max(max(Counter(_floor(d, unit) for d in ds).values()) for _, ds in lanes)
    for index, (label, days) in enumerate(lanes):
        base = axis_h + lane_h * (len(lanes) - 1 - index) + 4
        drawing.add(Line(plot_x, base, plot_x + plot_w, base, strokeColor=GRID, strokeWidth=0.6))
        drawing.add(
            String(
                label_w - 6,
                base + 3,
                label,
                fontName=fonts.REGULAR,
                fontSize=7.5,
                fillColor=INK,
                textAnchor="end",
            )
        )
        buckets = sorted(Counter(_floor(d, unit) for d in days).items())
        show_counts = len(buckets) <= 40
        for start, count in buckets:
            x0, x1 = x_of(start), x_of(_step(start, unit))
            gap = min(1.0, (x1 - x0) * 0.15)
            bar_w = max(1.2, x1 - x0 - gap)
            h = max(1.5, bar_h * count / tallest)
            drawing.add(Rect(x0, base, bar_w, h, fillColor=RELIED, strokeColor=None))
            if show_counts and count > 1:
                drawing.add(
                    String(
                        x0 + bar_w / 2,
                        base + h + 1.5,
                        f"{count:,}",
                        fontName=fonts.REGULAR,
                        fontSize=5.5,
                        fillColor=MUTED,
                        textAnchor="middle",
                    )
                )

    _time_axis(drawing, lo, hi, unit, x_of, plot_x, plot_w, axis_h)
    counts = {label: len(days) for label, days in lanes}
    return Timeline(drawing, unit, counts, stated - len(readable))


def _time_axis(
    drawing: Drawing,
    lo: date,
    hi: date,
    unit: Unit,
    x_of: Callable[[date], float],
    plot_x: float,
    plot_w: float,
    axis_h: float,
) -> None:
    y = axis_h - 2
    drawing.add(Line(plot_x, y, plot_x + plot_w, y, strokeColor=MUTED, strokeWidth=0.6))
    buckets = 0
    d = lo
    while d < hi:
        buckets += 1
        d = _step(d, unit)
    per_bucket = plot_w / max(1, buckets)
    choices = {"day": (1, 2, 7, 14, 28), "week": (1, 2, 4, 8, 13, 26, 52)}.get(
        unit, (1, 2, 3, 6, 12, 24, 60, 120)
    )
    every = next((k for k in choices if k * per_bucket >= 58), choices[-1])
    tick = lo
    while tick <= hi:
        x = x_of(tick)
        drawing.add(Line(x, y, x, y - 3, strokeColor=MUTED, strokeWidth=0.6))
        if x + 22 <= plot_x + plot_w + 6:
            drawing.add(
                String(
                    x,
                    y - 11,
                    _date_label(tick, unit),
                    fontName=fonts.REGULAR,
                    fontSize=6.5,
                    fillColor=MUTED,
                    textAnchor="middle",
                )
            )
        tick = _step(tick, unit, every)


def _drawing(width: float, height: float) -> Drawing:
    """An empty picture whose text defaults to the embedded font (not Helvetica)."""
    drawing = Drawing(width, height)
    drawing.initialFontName = fonts.REGULAR
    return drawing


def _date_label(d: date, unit: Unit) -> str:
    return f"{d:%b %Y}" if unit == "month" else f"{d.day} {d:%b %Y}"


# --- observations by domain and grading ------------------------------------------------


@dataclass(frozen=True)
class _Row:
    label: str
    relied: int
    not_relied: int


def _rows(
    observations: Iterable[ReportObservation],
    key: Callable[[ReportObservation], str],
    order: Sequence[tuple[str, str]],
) -> list[_Row]:
    relied: Counter[str] = Counter()
    not_relied: Counter[str] = Counter()
    for o in observations:
        (relied if o.relied_upon else not_relied)[key(o)] += 1
    known = [k for k, _ in order]
    extra = sorted(k for k in set(relied) | set(not_relied) if k not in known)
    labels = dict(order)
    return [_Row(labels.get(k, k), relied[k], not_relied[k]) for k in [*known, *extra]]


def observation_chart(observations: Sequence[ReportObservation], width: float) -> Drawing | None:
    """Three panels of stacked bars: by domain, by reliability A-F, by credibility 1-6."""
    if not observations:
        return None
    by_domain = _rows(observations, lambda o: o.domain, list(DOMAINS.items()))
    by_reliability = _rows(
        observations,
        lambda o: o.reliability.strip().upper(),
        [(k, f"{k}  {v}") for k, v in RELIABILITY.items()],
    )
    by_credibility = _rows(
        observations,
        lambda o: str(o.credibility),
        [(str(k), f"{k}  {v}") for k, v in CREDIBILITY.items()],
    )
    row_h, title_h, legend_h, gap = 12.0, 14.0, 16.0, 12.0
    top_h = title_h + row_h * len(by_domain)
    bottom_h = title_h + row_h * max(len(by_reliability), len(by_credibility))
    height = legend_h + top_h + gap + bottom_h
    drawing = _drawing(width, height)
    _legend(drawing, 0, height - 9)
    y_top = height - legend_h
    _panel(drawing, "By assessment domain", by_domain, 0, y_top, width, row_h, 150)
    half = (width - 18) / 2
    y_bottom = y_top - top_h - gap
    _panel(drawing, "By source reliability", by_reliability, 0, y_bottom, half, row_h, 104)
    _panel(
        drawing,
        "By information credibility",
        by_credibility,
        half + 18,
        y_bottom,
        half,
        row_h,
        104,
    )
    return drawing


def _legend(drawing: Drawing, x: float, y: float) -> None:
    for fill, label in ((RELIED, "Relied upon"), (NOT_RELIED, "Not relied upon")):
        drawing.add(Rect(x, y - 1, 9, 7, fillColor=fill, strokeColor=None))
        drawing.add(String(x + 12, y, label, fontName=fonts.REGULAR, fontSize=7, fillColor=INK))
        x += 12 + stringWidth(label, fonts.REGULAR, 7) + 16


def _panel(
    drawing: Drawing,
    title: str,
    rows: Sequence[_Row],
    x: float,
    y: float,
    width: float,
    row_h: float,
    label_w: float,
) -> None:
    """Stacked horizontal bars; ``y`` is the top of the panel."""
    drawing.add(String(x, y - 9, title, fontName=fonts.BOLD, fontSize=7.5, fillColor=INK))
    count_w = 58.0
    bar_x, bar_room = x + label_w, width - label_w - count_w
    most = max((r.relied + r.not_relied for r in rows), default=0) or 1
    for i, row in enumerate(rows):
        top = y - 14 - row_h * i
        base = top - row_h + 2.5
        label = fit(row.label, fonts.REGULAR, 7, label_w - 6)
        drawing.add(
            String(
                bar_x - 5,
                base + 2,
                label,
                fontName=fonts.REGULAR,
                fontSize=7,
                fillColor=INK,
                textAnchor="end",
            )
        )
        drawing.add(Line(bar_x, base - 1.5, bar_x, top + 0.5, strokeColor=GRID, strokeWidth=0.5))
        w_relied = bar_room * row.relied / most
        w_not = bar_room * row.not_relied / most
        bar_h = row_h - 4
        if row.relied:
            drawing.add(
                Rect(bar_x, base, max(w_relied, 0.8), bar_h, fillColor=RELIED, strokeColor=None)
            )
        if row.not_relied:
            drawing.add(
                Rect(
                    bar_x + w_relied,
                    base,
                    max(w_not, 0.8),
                    bar_h,
                    fillColor=NOT_RELIED,
                    strokeColor=None,
                )
            )
        total = row.relied + row.not_relied
        note = f"{row.relied:,} + {row.not_relied:,}" if total else "0"
        drawing.add(
            String(
                bar_x + w_relied + w_not + 4,
                base + 2,
                note,
                fontName=fonts.REGULAR,
                fontSize=6.5,
                fillColor=MUTED,
            )
        )
