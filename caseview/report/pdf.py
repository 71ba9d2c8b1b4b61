"""Draw the reasoned note: :func:`render_pdf` turns a :class:`ReportData` into PDF bytes.

The sections follow DESIGN section 6, in order: the header; purpose, statutory function
and question; each justification with both of Niven's sides, the balance and the
manager's decisions; the pictures; "Findings relied upon" and, apart, "Material not
relied upon" (those two headings are a contract); the worker's analysis and conclusion;
the evaluation; the provenance appendix (with a thumbnail of each source's screenshot
or imported image, made when the data was built); the limitations; the audit checkpoint
and the command that checks it. Every page carries the classification marking top and bottom,
the case reference and "Page x of y".

Three rules hold everywhere:

- User and page text reaches a Paragraph only through
  :func:`caseview.report.text.markup` (escaped and drawable), and a table cell or the
  canvas only through :func:`~caseview.report.text.wrap` /
  :func:`~caseview.report.text.visible`, which interpret no markup at all. No input can
  make reportlab open a file, follow a link or fail to parse.
- Nothing here reads a clock, the environment or the network: the document is dated by
  ``data.dated`` and built with ``invariant=1``, so the same data gives the same bytes.
- Tables are built from cells wrapped once (:class:`_Lines`), cut into chunks of
  :data:`CHUNK` rows, and split only between rows, so their cost grows linearly.
"""

from __future__ import annotations

import hashlib
import io
import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader, TimeStamp
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from caseview.report import charts, fonts
from caseview.report.model import (
    CLASSIFICATION,
    DOMAINS,
    RISKS,
    ReportAuthorisation,
    ReportCollateral,
    ReportData,
    ReportJustification,
    ReportObservation,
    ReportPicture,
    ReportSource,
)
from caseview.report.text import (
    Run,
    direction,
    display_url,
    fit_line,
    layout,
    markup,
    needs_layout,
    one_line,
    visible,
    wrap,
)
from caseview.report.text import width as line_width
from caseview.report.thumbnails import PX_PER_PT

PAGE_W, PAGE_H = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 24 * mm
MARGIN_BOTTOM = 20 * mm
WIDTH = PAGE_W - 2 * MARGIN_X
FRAME_H = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM
CHUNK = 100  # rows per Table: each chunk is measured and split on its own
TALLEST_ROW = FRAME_H - 80  # a row taller than this is cut into continuation rows

INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#5a5a5a")
RULE = colors.HexColor("#9aa3ad")
HAIRLINE = colors.HexColor("#d5dae0")
SHADE = colors.HexColor("#eef1f4")
HEAD = colors.HexColor("#dde3ea")
ACCENT = colors.HexColor("#1d5b79")

LESS_INTRUSIVE = {
    "asked_family": "Asked the family",
    "partner_agencies": "Asked partner agencies",
    "police": "Police checks",
    "school": "Asked the school",
    "health": "Asked health services",
    "other": "Other",
}
FAMILY_TOLD = {"yes": "Yes", "no": "No", "later": "Later"}
NOT_RECORDED = "Not recorded."
UK_TIME = ZoneInfo("Europe/London")  # dates and times are read in UK local time

DEFAULT_LIMITATIONS = (
    "A hash proves the integrity of the copy since it was captured, not that the page "
    "was authentic or that what it says is true.",
    "Public information can be old, shared from someone else, or misread.",
)


# --- paragraph styles (running text outside tables) ------------------------------------


def _style(name: str, **kw: Any) -> ParagraphStyle:
    base: dict[str, Any] = {
        "fontName": fonts.REGULAR,
        "bulletFontName": fonts.REGULAR,
        "fontSize": 9.5,
        "leading": 13,
        "textColor": INK,
        "splitLongWords": 1,
        "allowWidows": 0,
        "allowOrphans": 0,
    }
    return ParagraphStyle(name, **(base | kw))


BODY = _style("body", spaceAfter=5)
EMPTY = _style("empty", textColor=MUTED, fontName=fonts.ITALIC, spaceAfter=5)
TITLE = _style("title", fontName=fonts.BOLD, fontSize=21, leading=25, spaceAfter=2)
SUBTITLE = _style("subtitle", fontSize=13, leading=17, textColor=MUTED, spaceAfter=10)
H1 = _style(
    "h1",
    fontName=fonts.BOLD,
    fontSize=14,
    leading=18,
    spaceBefore=14,
    spaceAfter=6,
    textColor=ACCENT,
    keepWithNext=1,
)
H2 = _style(
    "h2", fontName=fonts.BOLD, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=5,
    keepWithNext=1,
)  # fmt: skip
H3 = _style(
    "h3", fontName=fonts.BOLD, fontSize=9.5, leading=13, spaceBefore=6, spaceAfter=3,
    keepWithNext=1,
)  # fmt: skip
CAPTION = _style("caption", fontSize=7.5, leading=10, textColor=MUTED, spaceAfter=8)
BULLET = _style("bullet", leftIndent=12, bulletIndent=2, spaceAfter=4)


def _p(text: str, style: ParagraphStyle = BODY) -> Flowable:
    """A paragraph of user or page text: escaped, so never read as markup.

    Text in scripts beyond the main face (Arabic, Chinese…) is not given to a Paragraph,
    which cannot shape it, but wrapped and drawn as :class:`_Prose`.
    """
    if needs_layout(visible(text)):
        return _Prose(text, style)
    return Paragraph(markup(text), style)


def _paras(text: str, style: ParagraphStyle = BODY, empty: str = NOT_RECORDED) -> list[Flowable]:
    """User text as paragraphs (a blank line starts a new one); empty text says so."""
    blocks = [b for b in (b.strip() for b in text.replace("\r\n", "\n").split("\n\n")) if b]
    if not blocks:
        return [_p(empty, EMPTY)]
    # Each line of a block is a flowable of its own, set as close as a line break sets
    # it: a Paragraph of thousands of lines is broken again, whole, each time it is split
    # over a page, which made a note written line by line take minutes.
    close = ParagraphStyle(f"{style.name}-line", parent=style, spaceAfter=0)
    story: list[Flowable] = []
    for block in blocks:
        lines = block.split("\n")
        for i, line in enumerate(lines):
            last = i == len(lines) - 1
            story.append(
                _p(line, style if last else close) if line.strip() else Spacer(1, style.leading)
            )
    return story


def _empty(text: str) -> Paragraph:
    return _p(text, EMPTY)


# --- table cells: plain lines, wrapped once --------------------------------------------


@dataclass(frozen=True)
class _Look:
    face: str
    size: float
    leading: float
    color: Color
    ltr: bool = False
    """Always set left to right: a sentence of the note's own that starts with a name,
    which must not turn it round ("محمد علي (mother)" is not a right-to-left line)."""


PLAIN = _Look(fonts.REGULAR, 8, 10.2, INK)
STRONG = _Look(fonts.BOLD, 8, 10.2, INK)
SLANT = _Look(fonts.ITALIC, 8, 10.2, INK)
SMALL = _Look(fonts.REGULAR, 6.8, 8.8, MUTED)
FAINT = _Look(fonts.ITALIC, 8, 10.2, MUTED)
HASH = _Look(fonts.REGULAR, 6.5, 8.6, INK)  # 64 of the widest hex digit fit in 250 pt
VALUE = _Look(fonts.REGULAR, 9, 12.2, INK)
VALUE_STRONG = _Look(fonts.BOLD, 9, 12.2, INK)
VALUE_FAINT = _Look(fonts.ITALIC, 9, 12.2, MUTED)
VALUE_MIXED = _Look(fonts.REGULAR, 9, 12.2, INK, ltr=True)
PLAIN_MIXED = _Look(fonts.REGULAR, 8, 10.2, INK, ltr=True)
SMALL_MIXED = _Look(fonts.REGULAR, 6.8, 8.8, MUTED, ltr=True)
LABEL = _Look(fonts.BOLD, 8.5, 12.2, MUTED)
GAP = _Look(fonts.REGULAR, 4, 4, INK)  # a little space between blocks in one cell

Block = tuple[_Look, str]

# Where a break-glass request stood at the note's date; "reviewed" shows as the decision.
EMERGENCY_STATES: dict[str, Block] = {
    "overdue": (
        VALUE_STRONG,
        "Its review is overdue: no manager reviewed it within the time the policy allows, "
        "so it may not be used again until one does.",
    ),
    "live": (VALUE, "Waiting for a manager's review, within the time the policy allows."),
}


class _Lines(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """Plain lines of text for a table cell, wrapped once and drawn as they are.

    The long tables hold thousands of cells. A Paragraph parses markup and breaks its
    lines again at every measurement, which made a 1,000-source note take four times
    too long; these cells interpret no markup at all (their text is only made drawable,
    by :func:`~caseview.report.text.wrap`), and know their height at once.
    """

    def __init__(self, lines: Sequence[tuple[_Look, str]]) -> None:
        super().__init__()
        self.lines = list(lines)
        self.height = sum(look.leading for look, _ in self.lines)
        self.width = 0.0

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        return availWidth, self.height

    def _room(self) -> float:
        """The width the lines are set in (a right-to-left line ends at its right)."""
        return self.width

    def cut(self, height: float) -> tuple[_Lines, _Lines]:
        """The lines that fit in ``height`` points, and the rest."""
        used, n = 0.0, 0
        for look, _ in self.lines:
            if used + look.leading > height and n:
                break
            used += look.leading
            n += 1
        return _Lines(self.lines[:n]), _Lines(self.lines[n:])

    def draw(self) -> None:
        # The PDF text operators are written directly, one BT/ET block per cell: through
        # reportlab's TextObject each line cost about four times as much (it measures
        # every line to advance a cursor this layout never uses). The glyph encoding is
        # still reportlab's own (splitString assigns the font-subset codes).
        canvas = self.canv
        doc = canvas._doc
        ops = ["BT"]
        top = self.height
        current: _Look | None = None
        font: Any = None
        for look, line in self.lines:
            if line:
                if look is not current:
                    font = getFont(look.face)
                    ops.append(f"{fp_str(*look.color.rgb())} rg")
                    current = look
                baseline = top - look.size * 0.96
                rtl = direction(line)
                if rtl or needs_layout(line):  # shaped, in visual order
                    runs = layout(line, look.face)
                    # A right-to-left paragraph starts at the right, as it is read.
                    x = self._room() - sum(r.width for r in runs) * look.size / 1000 if rtl else 0
                    ops.extend(_run_ops(doc, runs, max(0.0, x), baseline, look))
                else:
                    ops.append(f"1 0 0 1 0 {fp_str(baseline)} Tm")
                    for subset, chunk in font.splitString(line, doc):
                        name = font.getSubsetInternalName(subset, doc)
                        ops.append(f"{name} {fp_str(look.size)} Tf ({escapePDF(chunk)}) Tj")
            top -= look.leading
        ops.append("ET")
        canvas.addLiteral("\n".join(ops))


BOLD_STROKE = 0.03  # of the size: how much a fallback face (regular only) is thickened


def _actual_text(text: str) -> str:
    """``text`` as a PDF string in UTF-16, for /ActualText."""
    return "<FEFF" + text.encode("utf-16-be").hex().upper() + ">"


def _run_ops(doc: Any, runs: Sequence[Run], x: float, y: float, look: _Look) -> list[str]:
    """PDF text operators drawing one laid-out line from (``x``, ``y``), inside BT/ET.

    A run in a main face is drawn as its string. A shaped run is drawn glyph by glyph
    where HarfBuzz moved one from where the last left off (marks, kerning), and is
    wrapped in a marked-content span whose /ActualText is the run's own characters:
    what a reader copies or searches is the name as written, not the glyphs (joined
    Arabic forms and Indic conjuncts have no characters of their own). A right-to-left
    run's characters are written last first, in the order its glyphs are drawn, as
    every other PDF's right-to-left text is: text extractors (poppler's pdftotext) turn
    right-to-left text drawn left to right back into reading order, and would turn
    characters already in reading order backwards.
    Bold text in a fallback face, which has only a regular weight, and the faces whose
    only weight is lighter (:data:`fonts.THICKEN`) are thickened by stroking outlines.
    """
    size = look.size
    em = size / 1000
    ops: list[str] = []
    pen = x
    bold = look.face in (fonts.BOLD, fonts.BOLD_ITALIC)
    for run in runs:
        font = getFont(run.face)
        if not run.glyphs:
            ops.append(f"1 0 0 1 {fp_str(pen)} {fp_str(y)} Tm")
            for subset, chunk in font.splitString(run.shown, doc):
                name = font.getSubsetInternalName(subset, doc)
                ops.append(f"{name} {fp_str(size)} Tf ({escapePDF(chunk)}) Tj")
            pen += run.width * em
            continue
        said = run.text[::-1] if run.rtl else run.text  # in drawing order: see above
        ops.append(f"/Span <</ActualText {_actual_text(said)}>> BDC")
        stroke = fonts.THICKEN.get(run.face, 0.0) + (BOLD_STROKE if bold else 0.0)
        if stroke:
            ops.append(f"2 Tr {fp_str(size * stroke)} w {fp_str(*look.color.rgb())} RG")
        at: tuple[float, float] | None = None  # where the last glyph left the pen
        for key, advance, dx, dy in run.glyphs:
            gx, gy = pen + dx * em, y + dy * em
            ((subset, chunk),) = font.splitString(key, doc)
            name = font.getSubsetInternalName(subset, doc)
            if at is None or abs(at[0] - gx) > 0.01 or abs(at[1] - gy) > 0.01:
                ops.append(f"1 0 0 1 {fp_str(gx)} {fp_str(gy)} Tm")
            ops.append(f"{name} {fp_str(size)} Tf ({escapePDF(chunk)}) Tj")
            at = (gx + font.face.getCharWidth(ord(key)) * em, gy)
            pen += advance * em
        if stroke:
            ops.append("0 Tr")
        ops.append("EMC")
    return ops


class _Prose(_Lines):
    """A paragraph in a Paragraph style whose text goes beyond the main face.

    Wrapped by :func:`~caseview.report.text.wrap` at the width the frame offers, drawn
    line by line like a table cell (shaped, in visual order), and split between lines
    when it runs over a page.
    """

    def __init__(
        self, text: str, style: ParagraphStyle, lines: Sequence[tuple[_Look, str]] = ()
    ) -> None:
        super().__init__(lines)
        self.text = text
        self.style = style
        self.look = _Look(style.fontName, style.fontSize, style.leading, style.textColor)
        self.keepWithNext = getattr(style, "keepWithNext", 0)
        self._fixed = bool(lines)  # a piece of a split paragraph keeps its lines
        self._wrapped_at: float | None = None

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if not self._fixed and self._wrapped_at != availWidth:
            look = self.look
            lines = wrap(self.text, look.face, look.size, availWidth)
            self.lines = [(look, line) for line in lines]
            self.height = look.leading * len(lines)
            self._wrapped_at = availWidth
        return super().wrap(availWidth, availHeight)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        self.wrap(availWidth, availHeight)
        if availHeight < self.look.leading or len(self.lines) < 2:
            return []
        head, tail = self.cut(availHeight)
        return [
            _Prose(self.text, self.style, head.lines),
            _Prose(self.text, self.style, tail.lines),
        ]

    def getSpaceBefore(self) -> float:
        return float(self.style.spaceBefore)

    def getSpaceAfter(self) -> float:
        return float(self.style.spaceAfter)


class _Figure(_Lines):
    """A source's thumbnail with its caption lines beside it, as one table cell.

    The picture arrives as JPEG bytes made when the note's data was built; reportlab
    embeds them as they are (no decoding into the PDF, nothing read from a file), so
    the same data gives the same bytes. A figure is never cut: it is at most
    :data:`~caseview.report.thumbnails.BOX_PT` tall, well under :data:`TALLEST_ROW`.
    """

    GAP = 8.0  # between the picture and its caption

    def __init__(self, picture: ReportPicture, caption: Sequence[tuple[_Look, str]]) -> None:
        super().__init__(caption)
        assert picture.thumbnail is not None
        self.jpeg = picture.thumbnail
        self.shown = (picture.thumbnail_width / PX_PER_PT, picture.thumbnail_height / PX_PER_PT)
        self.height = max(self.height, self.shown[1])

    def cut(self, height: float) -> tuple[_Lines, _Lines]:
        return self, _Lines([])

    def _room(self) -> float:
        return self.width - self.shown[0] - self.GAP

    def draw(self) -> None:
        canvas = self.canv
        w, h = self.shown
        canvas.saveState()
        canvas.drawImage(ImageReader(io.BytesIO(self.jpeg)), 0, self.height - h, w, h)
        canvas.setStrokeColor(HAIRLINE)
        canvas.setLineWidth(0.5)
        canvas.rect(0, self.height - h, w, h, stroke=1, fill=0)
        canvas.translate(w + self.GAP, 0)
        super().draw()  # the caption, from the top, beside the picture
        canvas.restoreState()


def _attached(row: Sequence[_Lines]) -> bool:
    """A row that belongs to the row above it (a source's picture): never parted from it."""
    return len(row) > 1 and isinstance(row[1], _Figure)


PAD = 3.0  # cell padding, left and right


def _cell(width: float, *blocks: Block, pad: float = PAD) -> _Lines:
    """A cell ``width`` points wide: each (look, text) block wrapped in its look."""
    room = width - 2 * pad
    lines: list[tuple[_Look, str]] = []
    for look, text in blocks:
        if look is GAP:
            if lines:
                lines.append((GAP, ""))
            continue
        rtl = False if look.ltr else None
        lines.extend((look, line) for line in wrap(text, look.face, look.size, room, rtl))
    return _Lines(lines)


def _text_blocks(text: str, look: _Look = VALUE, empty: str = NOT_RECORDED) -> list[Block]:
    """User text as blocks of one look, or a faint "not recorded" if there is none."""
    if not text.strip():
        return [(VALUE_FAINT if look in (VALUE, VALUE_MIXED) else FAINT, empty)]
    return [(look, text)]


def _rows_within(row: list[_Lines], limit: float = TALLEST_ROW) -> list[list[_Lines]]:
    """``row`` as one or more rows no taller than ``limit``, so tables split between rows."""
    rows = []
    while max(c.height for c in row) > limit:
        heads, tails = zip(*(c.cut(limit) for c in row), strict=True)
        rows.append(list(heads))
        row = list(tails)
    rows.append(row)
    return rows


def _table(
    rows: Sequence[list[_Lines]],
    widths: Sequence[float],
    style: Sequence[tuple[Any, ...]],
    *,
    header: list[_Lines] | None = None,
    rule: tuple[float, Color] | None = None,
) -> list[Flowable]:
    """Tables of ``rows`` in chunks of :data:`CHUNK`, each repeating ``header``, with a
    ``rule`` (width, colour) below each row but one that a picture row follows.

    A picture row (:func:`_attached`) spans all but the first column and stays in the
    same table and on the same page as the row above it.
    """
    body = [r for row in rows for r in _rows_within(row)]
    tables: list[Flowable] = []
    start = 0
    while start < len(body):
        end = min(start + CHUNK, len(body))
        while end < len(body) and _attached(body[end]):
            end += 1
        chunk = body[start:end]
        start = end
        data = [header, *chunk] if header else chunk
        commands: list[tuple[Any, ...]] = [("FONTNAME", (0, 0), (-1, -1), fonts.REGULAR), *style]
        joined = [i for i, row in enumerate(data) if i and _attached(row)]
        for i in joined:
            commands += [("SPAN", (1, i), (-1, i)), ("NOSPLIT", (0, i - 1), (-1, i))]
        if rule and joined:
            commands += [
                ("LINEBELOW", (0, i), (-1, i), *rule)
                for i in range(len(data))
                if i + 1 not in joined
            ]
        elif rule:
            commands.append(("LINEBELOW", (0, 0), (-1, -1), *rule))
        table = Table(data, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
        table.setStyle(TableStyle(commands))
        tables.append(table)
    return tables


def _grid(
    header: Sequence[str], rows: Sequence[list[_Lines]], widths: Sequence[float]
) -> list[Flowable]:
    """A ruled table with a shaded header repeated on each page."""
    head = [_cell(w, (STRONG, h)) for h, w in zip(header, widths, strict=True)]
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD),
        ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    return _table(rows, widths, style, header=head, rule=(0.3, RULE))


LABEL_W = 118.0


def _kv(rows: Sequence[tuple[str, Sequence[Block]]], label_w: float = LABEL_W) -> list[Flowable]:
    """Labelled values, one per row, with light rules between."""
    value_w = WIDTH - label_w
    cells = [
        [_cell(label_w, (LABEL, label), pad=0), _cell(value_w, *blocks, pad=0)]
        for label, blocks in rows
    ]
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, HAIRLINE),
    ]
    return _table(cells, (label_w, value_w), style)


# --- small helpers ---------------------------------------------------------------------


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    local = moment.astimezone(UK_TIME)
    return (
        f"{local.day} {local:%b %Y, %H:%M} {local.tzname()} "
        f"({moment.day} {moment:%b %Y, %H:%M} UTC)"
    )


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _title(data: ReportData) -> str:
    """The case's title, or that it has none (a title of only spaces is none)."""
    return data.case_title if data.case_title.strip() else "Untitled case"


def _classification(data: ReportData) -> str:
    return one_line(data.classification) or CLASSIFICATION


def verify_command(data: ReportData) -> str:
    """The exact command that checks the case file against this note's checkpoint."""
    head = shlex.quote(f"{data.checkpoint_seq}:{data.checkpoint_hash}")
    return f"caseview --db {shlex.quote(data.case_file_name)} verify --expect-head {head}"


# --- sections --------------------------------------------------------------------------


def _header(data: ReportData) -> list[Flowable]:
    subjects = [f"{name} ({role})" if role else name for name, role in data.subjects]
    return [
        Paragraph("Reasoned note", TITLE),
        _p(_title(data), SUBTITLE),
        *_kv([
            ("Case reference", _text_blocks(data.case_reference)),
            ("Subjects", [(VALUE_MIXED, "\n".join(subjects))] if subjects
             else [(VALUE_FAINT, "No subjects were recorded.")]),
            ("Note by", _text_blocks(data.author, VALUE_MIXED)),
            ("Dated", [(VALUE, f"{_when(data.dated)}, the time of the audit checkpoint "
                               "below: the case as it stood then")]),
            ("Classification", [(VALUE_STRONG, _classification(data))]),
            ("Produced with", _text_blocks(data.tool)),
        ]),
        Spacer(1, 8),
        Paragraph(
            "This note records what public online information was looked at and why, what "
            "it shows, how far it can be trusted, what the worker concluded, and how anyone "
            "can check it. Read the findings with the limitations at the end of the note.",
            CAPTION,
        ),
    ]  # fmt: skip


def _purpose(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Purpose, statutory function and question", H1)]
    if not data.justifications:
        return [*story, _empty("No justification was recorded, so no purpose is stated.")]
    for j in data.justifications:
        story.append(Paragraph(f"Justification {j.id} (version {j.version})", H3))
        story.extend(
            _kv([
                ("Question", _text_blocks(j.question)),
                ("Statutory function", _text_blocks(j.statutory_function)),
                ("Data protection basis", _text_blocks(j.data_protection_basis)),
            ])
        )  # fmt: skip
    return story


def _justification(j: ReportJustification) -> list[Flowable]:
    considered = "; ".join(LESS_INTRUSIVE.get(k, k) for k in j.less_intrusive_considered)
    told = FAMILY_TOLD.get(j.family_told, j.family_told) or "not recorded"
    transparency: list[Block] = [(VALUE_STRONG, f"Will the family be told? {told}")]
    if j.family_told_reason.strip():
        transparency += [(GAP, ""), (VALUE, j.family_told_reason)]
    emergency: list[Block] = [(VALUE, "No.")]
    if j.emergency:
        emergency = [
            (
                VALUE_STRONG,
                "Yes: a break-glass request for an immediate risk to a child, usable at once "
                "without a manager's approval first; a manager must review it afterwards.",
            ),
            (GAP, ""),
            *_text_blocks(j.emergency_reason, empty="No reason was recorded."),
            *_emergency_review(j),
        ]
    story: list[Flowable] = [
        _p(
            f"Justification {j.id}, version {j.version}"
            + (f" (revises justification {j.supersedes})" if j.supersedes is not None else "")
            + f": {j.status or 'status unknown'}",
            H2,
        ),
        *_kv([
            ("Requested by", _text_blocks(j.author, VALUE_MIXED)),
            ("Subjects", _text_blocks("; ".join(j.subjects), VALUE_MIXED)),
            ("Scope", _text_blocks("\n".join(j.scope))),
            ("Submitted", [(VALUE, _when(j.submitted_at)) if j.submitted_at else
                           (VALUE_FAINT, "Never submitted for a decision.")]),
            (
                "Planned viewings",
                [
                    (
                        VALUE,
                        f"{j.planned_viewings:,}, until the end of {j.valid_until} (UK time)",
                    )
                ],
            ),
            *([("Cancelled", [
                (VALUE_MIXED, f"By {j.cancelled.by}, {_when(j.cancelled.at)}"
                 if j.cancelled.at else "The log does not say who cancelled it, or when."),
                *_text_blocks(j.cancelled.reason, empty="No reason was recorded."),
            ])] if j.cancelled else []),
            ("Looks made under it", _looks_made(j)),
            ("Refused or failed attempts", _attempt_blocks(j)),
            ("Intrusion level", _text_blocks(j.intrusion_level)),
            ("Content hash", _text_blocks(j.content_hash)),
        ]),
        Spacer(1, 8),
        *_two_sides(j),
        Spacer(1, 8),
        *_kv([
            ("The balance", _text_blocks(j.balance)),
            ("Necessity", [
                (VALUE_STRONG, "Less intrusive routes considered: " + (considered or "none")),
                (GAP, ""),
                *_text_blocks(j.why_not_enough),
            ]),
            ("Proportionality", _text_blocks(j.proportionality)),
            ("Collateral intrusion", _text_blocks(j.collateral_intrusion)),
            ("Transparency", transparency),
            ("Emergency", emergency),
            ("Surveillance authorisation", _text_blocks(
                f"Free text recorded by an older version, not relied on: {j.authorisation_ref}"
                if j.authorisation_ref else "",
                empty="See \"Surveillance authorisations relied on\".")),
        ]),
        Paragraph("Manager's decision", H3),
    ]  # fmt: skip
    if not j.decisions:
        story.append(_empty("No manager has decided on this justification yet."))
        return story
    widths = (112, 62, 200, WIDTH - 374)
    rows = [
        [
            _cell(widths[0], (PLAIN_MIXED, d.reviewer)),
            _cell(widths[1], (STRONG, d.decision)),
            _cell(widths[2], *_text_blocks(d.reasons, PLAIN)),
            _cell(widths[3], (PLAIN, _when(d.at))),
        ]
        for d in j.decisions
    ]
    story.extend(_grid(("Manager", "Decision", "Reasons", "At"), rows, widths))
    return story


ATTEMPT_KINDS = {
    "capture": "capture",
    "view": "look without capture",
    "import": "import of a saved look",
    "browse": "evidence-browser session",
    "supplied": "record of supplied material",
}


def _looks_made(j: ReportJustification) -> list[Block]:
    """How many looks were made under this version: the records, never the plan."""
    earlier = (
        [(VALUE, "Looks made under the earlier versions of this request count against the same "
                 "planned viewings.")]
        if j.supersedes is not None
        else []
    )  # fmt: skip
    if not j.looks_made:
        return [(VALUE_STRONG, "None: no look was made under this version."), *earlier]
    return [
        (
            VALUE,
            f"{j.looks_made:,} (captures, looks without capture, and imports of the worker's "
            "own looks; material supplied by others is not counted). A look without capture "
            "kept nothing: only the sources in the provenance appendix were kept.",
        ),
        *earlier,
    ]


def _attempt_blocks(j: ReportJustification) -> list[Block]:
    """Each refused or failed attempt: when, by whom, what, and why; nothing was kept."""
    after: Block = (
        VALUE_FAINT,
        "An attempt changes nothing in the case, so one made after the audit checkpoint is "
        "shown only in a note exported after the case next changes; the audit log holds "
        "every one.",
    )
    if not j.attempts:
        return [(VALUE_FAINT, "None recorded up to the audit checkpoint of this note."), after]
    blocks: list[Block] = []
    for a in j.attempts:
        what = ATTEMPT_KINDS.get(a.kind, a.kind)
        if a.outcome == "refused":
            outcome = f"refused by the gate (rule: {a.rule or 'not recorded'})"
        else:
            outcome = f"failed ({a.rule or 'reason not recorded'})"
        if blocks:
            blocks.append((GAP, ""))
        blocks += [
            (
                VALUE_MIXED,
                f"{_when(a.at)}, by {a.by}: a {what} of {display_url(a.url) or 'no address'}",
            ),
            (VALUE, f"{outcome}; nothing was kept." + (f" {a.message}" if a.message else "")),
        ]
    if j.attempts_left_out:
        blocks += [
            (GAP, ""),
            (
                VALUE_STRONG,
                f"And {_plural(j.attempts_left_out, 'later attempt')} not listed "
                "here; the case file's audit log holds every one.",
            ),
        ]
    return [*blocks, (GAP, ""), after]


def _emergency_review(j: ReportJustification) -> list[Block]:
    """When the break-glass began, when its review fell due, and whether it was in time."""
    blocks: list[Block] = []
    if j.submitted_at is not None:
        due = f" Review due by {_when(j.review_due)}." if j.review_due else ""
        blocks += [(GAP, ""), (VALUE, f"Break-glass began {_when(j.submitted_at)}.{due}")]
    if j.emergency_state in EMERGENCY_STATES:
        blocks += [(GAP, ""), EMERGENCY_STATES[j.emergency_state]]
    elif j.emergency_state == "reviewed" and j.decisions:
        first = min(d.at for d in j.decisions)
        late = j.review_due is not None and first > j.review_due
        blocks += [
            (GAP, ""),
            (
                VALUE_STRONG if late else VALUE,
                f"A manager reviewed it {_when(first)}"
                + (", after the review was due" if late else ", within the time allowed")
                + ": see the decision below.",
            ),
        ]
    return blocks


def _two_sides(j: ReportJustification) -> list[Flowable]:
    """Niven's two sides next to each other: the case for looking, the case against."""
    half = WIDTH / 2
    pad = 6.0
    head = [
        _cell(half, (STRONG, "The safety case: why looking may protect the child"), pad=pad),
        _cell(half, (STRONG, "The ethics case: the intrusion and its risks"), pad=pad),
    ]
    row = [
        _cell(half, *_text_blocks(j.safety_case), pad=pad),
        _cell(half, *_text_blocks(j.ethics_case), pad=pad),
    ]
    style = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD),
        ("BOX", (0, 0), (-1, -1), 0.5, RULE),
        ("LINEBEFORE", (1, 0), (1, -1), 0.5, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), pad),
        ("RIGHTPADDING", (0, 0), (-1, -1), pad),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
    ]
    return _table([row], (half, half), style, header=head)


def _justifications(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Justification, balance and decision", H1)]
    if not data.justifications:
        return [*story, _empty("No justification was recorded.")]
    for j in data.justifications:
        story.extend(_justification(j))
    return story


def _at_a_glance(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [
        CondPageBreak(90 * mm),
        Paragraph("Sources and observations at a glance", H1),
        Paragraph("When the sources were captured, viewed and published", H3),
    ]
    line = charts.timeline(data.sources, WIDTH)
    if line is None:
        story.append(_empty("No sources were recorded, so there is no timeline."))
    else:
        lanes = "; ".join(f"{label}: {n:,}" for label, n in line.counts.items())
        caption = f"Each bar counts sources per {line.unit}. {lanes}."
        if line.unreadable_published:
            n = line.unreadable_published
            caption += (
                f" {_plural(n, 'stated publication date')} could not be read as a date and "
                f"{'is' if n == 1 else 'are'} not shown."
            )
        story.append(KeepTogether([line.drawing, Spacer(1, 4), _p(caption, CAPTION)]))
    story.append(Paragraph("Observations by domain and grading", H3))
    chart = charts.observation_chart(data.observations, WIDTH)
    if chart is None:
        story.append(_empty("No observations were recorded."))
    else:
        relied = sum(1 for o in data.observations if o.relied_upon)
        caption = (
            f"{_plural(len(data.observations), 'observation')}: {relied:,} relied upon, "
            f"{len(data.observations) - relied:,} not. {charts.BAR_NOTE} Grading uses the "
            "Admiralty scales: source reliability A (completely reliable) to F (cannot be "
            "judged), information credibility 1 (confirmed) to 6 (cannot be judged)."
        )
        story.append(KeepTogether([chart, Spacer(1, 4), _p(caption, CAPTION)]))
    return story


OBSERVATION_HEADER = ("Obs.", "Observation", "Domain", "Grading", "Risks and corroboration")
OBSERVATION_WIDTHS = (46, 208, 74, 52, WIDTH - 380)


def _observation_rows(observations: Iterable[ReportObservation]) -> list[list[_Lines]]:
    w = OBSERVATION_WIDTHS
    rows = []
    for o in observations:
        notes: list[Block] = []
        if o.risks:
            notes += [(STRONG, "Risks"), (PLAIN, "; ".join(RISKS.get(r, r) for r in o.risks))]
        if o.corroboration:
            notes += [(STRONG, "Corroborated by"), (PLAIN, "; ".join(o.corroboration))]
        if o.reliance:
            label = "Also noted" if o.relied_upon else "Why not relied upon"
            notes += [(STRONG, label), (PLAIN, " ".join(o.reliance))]
        rows.append(
            [
                _cell(w[0], (STRONG, str(o.id)), (SMALL, f"source {o.source_id}")),
                _cell(
                    w[1],
                    *_text_blocks(o.text, PLAIN, "No text."),
                    (SMALL_MIXED, f"{o.author}, {_when(o.recorded_at)}"),
                ),
                _cell(w[2], (PLAIN, DOMAINS.get(o.domain, o.domain))),
                _cell(
                    w[3],
                    (STRONG, f"{o.reliability}{o.credibility}"),
                    (SMALL, f"3x5x2: {o.uk_equivalent}"),
                ),
                _cell(w[4], *(notes or [(FAINT, "None recorded.")])),
            ]
        )
    return rows


def _findings(data: ReportData) -> list[Flowable]:
    ordered = sorted(data.observations, key=lambda o: (o.id, o.source_id))
    relied = [o for o in ordered if o.relied_upon]
    apart = [o for o in ordered if not o.relied_upon]
    story: list[Flowable] = [
        CondPageBreak(50 * mm),
        Paragraph("Findings relied upon", H1),
        Paragraph(
            "Observations corroborated by an observation on an independent source, or by "
            "an external check recorded with what, who and when; each says what "
            "corroborates it. Its own grading never makes an observation a finding (the "
            f"rules are stated with the limitations): {_plural(len(relied), 'observation')}.",
            CAPTION,
        ),
    ]
    if not ordered:
        story.append(_empty("No observations were recorded."))
    elif not relied:
        story.append(_empty("No observation meets the standard to be relied upon."))
    else:
        story.extend(_grid(OBSERVATION_HEADER, _observation_rows(relied), OBSERVATION_WIDTHS))
    story += [
        CondPageBreak(50 * mm),
        Paragraph("Material not relied upon", H1),
        Paragraph(
            "Observations that nothing independent corroborates, whatever their own "
            "grading; each says why. They are kept so that nothing is lost, with the risks "
            "that limit how they can be read; they are not findings and must not be "
            "treated as established: "
            f"{_plural(len(apart), 'observation')}.",
            CAPTION,
        ),
    ]
    if not ordered:
        story.append(_empty("No observations were recorded."))
    elif not apart:
        story.append(_empty("Every observation recorded is relied upon; none is set apart."))
    else:
        story.extend(_grid(OBSERVATION_HEADER, _observation_rows(apart), OBSERVATION_WIDTHS))
    return story


COLLATERAL_HEADER = ("Source", "Who or what", "The words around it on the page", "Review")
COLLATERAL_WIDTHS = (46, 128, WIDTH - 284, 110)


def _collateral_rows(findings: Iterable[ReportCollateral]) -> list[list[_Lines]]:
    w = COLLATERAL_WIDTHS
    return [
        [
            _cell(w[0], (STRONG, str(f.source_id))),
            _cell(w[1], (STRONG, f.kind), *_text_blocks(f.value, PLAIN, "")),
            _cell(w[2], *_text_blocks(f.context, PLAIN, "No context.")),
            _cell(w[3], (PLAIN, f.review)),
        ]
        for f in findings
    ]


def _collateral(data: ReportData) -> list[Flowable]:
    """Other people seen on the sources: listed so that they are not used (minimisation)."""
    story: list[Flowable] = [
        CondPageBreak(50 * mm),
        Paragraph("Other people on the sources (collateral intrusion)", H1),
        Paragraph(
            "People who are not subjects of this case, seen on the sources only because "
            "they were on the page: another child's name with an age, school, school year, "
            "date of birth or town, and pages of many people (friends lists, team sheets, "
            "group photos). This is collateral intrusion. Their details are not findings: "
            "they must not be recorded, relied upon or shared beyond what the case needs. "
            "The worker confirms each that is right and dismisses each that is not: "
            f"{_plural(len(data.collateral), 'finding')}.",
            CAPTION,
        ),
    ]
    if not data.collateral:
        return [
            *story,
            _empty(
                "No other people's details were found on the sources. This is what Caseview's "
                "check of the text it could read from each source found: it does not look at "
                "pictures or video, so other people may still appear in them."
            ),
        ]
    ordered = sorted(data.collateral, key=lambda f: f.source_id)  # stable: page order kept
    return [*story, *_grid(COLLATERAL_HEADER, _collateral_rows(ordered), COLLATERAL_WIDTHS)]


def _analysis(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("The worker's analysis and conclusion", H1)]
    note = data.note
    if note is None:
        return [*story, _empty("No analysis has been written yet.")]
    story.append(_p(f"By {note.author or 'an unnamed author'}.", CAPTION))
    for title, text in (
        ("Analysis", note.analysis),
        ("Balance of the child's safety and the family's privacy", note.balance),
        ("Conclusion", note.conclusion),
    ):
        story.append(Paragraph(title, H3))
        story.extend(_paras(text))
    return story


def _evaluation(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Evaluation", H1)]
    note = data.note
    fields = (
        ("Was it useful?", note.evaluation_useful if note else ""),
        ("What decision did it inform?", note.evaluation_decision if note else ""),
        ("Was the family told?", note.evaluation_family_told if note else ""),
        ("What did the family say?", note.evaluation_family_response if note else ""),
    )
    if not any(value.strip() for _, value in fields):
        return [*story, _empty("The evaluation has not been written yet.")]
    return [*story, *_kv([(k, _text_blocks(v)) for k, v in fields], label_w=150)]


METHODS = {
    "http": "Fetched by Caseview",
    "rendered": "Caseview's evidence browser",
    "file_import": "A saved file, imported",
}
ORIGINS = {
    "self_collected": "found by the worker",
    "supplied_by_family": "supplied by a family member",
    "supplied_by_agency": "supplied by a partner agency",
    "supplied_by_colleague": "supplied by a colleague",
    "supplied_by_public": "supplied by a member of the public",
}

SOURCE_HEADER = ("Source", "Address, title and SHA-256", "Recorded", "Grading")
SOURCE_WIDTHS = (50, 256, 118, WIDTH - 424)


def _source_rows(sources: Iterable[ReportSource]) -> list[list[_Lines]]:
    w = SOURCE_WIDTHS
    rows = []
    for s in sources:
        where: list[Block] = [
            (PLAIN, display_url(s.url)) if s.url.strip() else (FAINT, "No address was recorded.")
        ]
        if s.final_url and s.final_url != s.url:
            where += [(SMALL, "arrived at"), (PLAIN, display_url(s.final_url))]
        if s.title:
            where.append((SLANT, s.title))
        if s.gone_status is not None:
            where += [
                (STRONG, f"The page was gone (HTTP {s.gone_status}) when captured"),
                (
                    PLAIN,
                    "The site answered that nothing is at this address. That alone does not "
                    "show whether, when or why a page was there, or who removed it.",
                ),
            ]
        elif s.http_status is not None and not 200 <= s.http_status < 300:
            where.append(
                (
                    STRONG,
                    f"The site answered HTTP {s.http_status}, not with the page: the copy "
                    "kept is what it sent instead",
                )
            )
        if s.published:
            where.append((PLAIN, f"Published (as stated): {s.published}"))
        where += [(SMALL, "SHA-256"), (HASH, s.sha256)]
        if s.picture is not None and s.picture.thumbnail is None:
            where.append((PLAIN, _no_thumbnail(s.picture)))
        imported = s.method == "file_import"
        captured: list[Block] = [
            (PLAIN, f"{'Imported' if imported else 'Captured'} {_when(s.captured_at)}"),
            (PLAIN, f"by {s.captured_by}"),
            (PLAIN, f"{METHODS.get(s.method, s.method)}; {ORIGINS.get(s.origin, s.origin)}"),
            (SMALL, f"method {s.method}; origin {s.origin}"),
        ]
        if s.supplied_by:
            captured.append((PLAIN, f"supplied by {s.supplied_by}"))
        if s.viewed_at is not None:
            captured.append(
                (
                    PLAIN,
                    f"viewed by the worker {_when(s.viewed_at)}, as they recorded it"
                    if s.origin == "self_collected"
                    else f"viewed {_when(s.viewed_at)}, as stated at import (not checked)",
                )
            )
        captured.append((SMALL, f"{s.size:,} bytes"))
        if s.method_statement:
            where += [(SMALL, "How it was obtained"), (PLAIN, s.method_statement)]
        rows.append(
            [
                _cell(w[0], (STRONG, str(s.id)), (SMALL, f"justification {s.justification_id}")),
                _cell(w[1], *where),
                _cell(w[2], *captured),
                _cell(w[3], (PLAIN, s.grading)),
            ]
        )
        if s.picture is not None and s.picture.thumbnail is not None:
            rows.append([_cell(w[0]), _figure(s.picture), _Lines([]), _Lines([])])
    return rows


FIGURE_WIDTH = sum(SOURCE_WIDTHS[1:]) - 2 * PAD  # a picture row spans all but the first column


def _figure(picture: ReportPicture) -> _Figure:
    """The thumbnail and a caption that claims no more than was done."""
    size = f"{picture.width:,} by {picture.height:,} pixels"
    if picture.kind == "screenshot":
        what, kept = "The screenshot as captured", "the full screenshot"
    else:
        what, kept = "The imported image", "the whole image"
    if picture.top_only:
        what = (
            f"{what}: the top of the page" if picture.kind == "screenshot" else f"{what}: its top"
        )
        said = (
            f"Only the top is shown here, reduced; {kept} ({size}) is kept unchanged "
            "with the SHA-256 below."
        )
    else:
        said = f"Shown reduced; {kept} ({size}) is kept unchanged with the SHA-256 below."
    blocks: list[Block] = [(STRONG, what), (PLAIN, said)]
    if picture.page_height is not None:
        blocks.append(
            (
                PLAIN,
                f"The page was {picture.page_height:,} pixels long; the screenshot itself "
                f"keeps only its first {picture.height:,} (the evidence browser's limit). "
                "The MHTML and DOM kept with it hold the whole page.",
            )
        )
    noun = "screenshot" if picture.kind == "screenshot" else "image"
    blocks += [(SMALL, f"SHA-256 of the {noun} as kept"), (HASH, picture.sha256)]
    room = FIGURE_WIDTH - picture.thumbnail_width / PX_PER_PT - _Figure.GAP
    lines = [
        (look, line) for look, text in blocks for line in wrap(text, look.face, look.size, room)
    ]
    return _Figure(picture, lines)


def _no_thumbnail(picture: ReportPicture) -> str:
    what = "screenshot" if picture.kind == "screenshot" else "imported image"
    return (
        f"No thumbnail of the {what} (SHA-256 {picture.sha256[:16]}…) is shown: "
        f"{picture.problem or 'it could not be made'}."
    )


def _provenance(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [
        CondPageBreak(50 * mm),
        Paragraph("Appendix: provenance of the sources", H1),
        Paragraph(
            "One row per source: where it was, when, how and by whom it was captured or "
            "imported, where it came from, the SHA-256 of the copy kept, how its observations "
            "were graded, and the justification it was recorded under: "
            f"{_plural(len(data.sources), 'source')}.",
            CAPTION,
        ),
    ]
    if not data.sources:
        return [*story, _empty("No sources were recorded.")]
    ordered = sorted(data.sources, key=lambda s: s.id)
    return [*story, *_grid(SOURCE_HEADER, _source_rows(ordered), SOURCE_WIDTHS)]


def _limitations(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Limitations", H1)]
    for item in data.limitations or DEFAULT_LIMITATIONS:
        story.append(Paragraph(markup(item), BULLET, bulletText="•"))
    return story


def _checkpoint(data: ReportData) -> list[Flowable]:
    command = one_line(verify_command(data))
    inset = 6.0  # the shaded box's padding, kept inside the text column
    room = WIDTH - 2 * inset - 2
    size = max(6.0, min(9.0, 9.0 * room / max(1.0, line_width(command, fonts.REGULAR, 9.0))))
    # Wrapped and drawn like a table cell, not a Paragraph: a case file named in any
    # script ("案件.db") must print as itself, or the command would not run.
    look = _Look(fonts.REGULAR, size, size * 1.35, INK, ltr=True)
    boxed = _table(
        [[_cell(WIDTH, (look, command), pad=inset)]],
        (WIDTH,),
        [
            ("BACKGROUND", (0, 0), (-1, -1), SHADE),
            ("LEFTPADDING", (0, 0), (-1, -1), inset),
            ("RIGHTPADDING", (0, 0), (-1, -1), inset),
            ("TOPPADDING", (0, 0), (-1, -1), inset),
            ("BOTTOMPADDING", (0, 0), (-1, -1), inset),
        ],
    )
    return [
        CondPageBreak(70 * mm),
        Paragraph("Audit checkpoint and how to check it", H1),
        *_kv([
            ("Checkpoint", [(VALUE, f"Audit event {data.checkpoint_seq}")]),
            ("Its hash", _text_blocks(data.checkpoint_hash)),
            ("Case file", _text_blocks(data.case_file_name)),
        ]),
        Spacer(1, 8),
        KeepTogether([  # the command is never parted from what it is and what it says
            Paragraph(
                "This note shows the case as it stood at that audit event. Each event in the "
                "case file's audit log is chained to the one before it by its hash, so "
                "changing or removing any earlier record breaks the chain. Anyone holding the "
                "case file can check it, read-only and without an account, by running:",
                BODY,
            ),
            Spacer(1, 6),
            *boxed,
            Spacer(1, 8),
            Paragraph(
                "It exits with status 0 if the log is intact, still holds this checkpoint, and "
                "every stored copy still matches its SHA-256; with 4 if not, naming what "
                "failed. Events recorded after the checkpoint (this export, for one) do not "
                "affect it.",
                BODY,
            ),
        ]),
    ]  # fmt: skip


def _policy_in_force(data: ReportData) -> list[Flowable]:
    """Which rules the gate applied: the policy's name, hash and every changed value."""
    story: list[Flowable] = [Paragraph("Policy in force", H1)]
    held = data.policy
    if held is None:
        return [*story, _empty("The policy in force was not recorded with this note.")]
    if held.shipped_defaults:
        source = "the shipped defaults, never changed for this case file"
    else:
        source = f"set by {held.set_by or 'unknown'}" + (
            f", confirmed by {held.confirmed_by} (it loosened the gate)"
            if held.confirmed_by
            else ""
        )
    changed: list[Block] = (
        [(VALUE, "\n".join(f"{key} = {value}" for key, value in held.differences))]
        if held.differences
        else [(VALUE, "None: the shipped defaults, unchanged.")]
    )
    story.extend(
        _kv([
            ("Policy", _text_blocks(held.name)),
            ("Its SHA-256", [(VALUE, held.sha256 + (" (the shipped defaults: the hash of an "
                                                    "empty policy file)" if held.shipped_defaults
                                                    else ""))]),
            ("Where it comes from", [(VALUE, source)]),
            ("Values that differ from the shipped defaults", changed),
        ])
    )  # fmt: skip
    story.append(
        Paragraph(
            "The policy in force at the date of this note. Making any value less strict "
            "takes effect only when a second manager confirms it.",
            CAPTION,
        )
    )
    return story


def _authorisation_rows(items: Iterable[ReportAuthorisation]) -> list[list[_Lines]]:
    widths = AUTHORISATION_WIDTHS
    return [
        [
            _cell(widths[0], (STRONG, a.reference), (PLAIN, f"request {a.justification_id}")),
            _cell(widths[1], *_text_blocks(a.person, PLAIN)),
            _cell(widths[2], *_text_blocks(a.officer, PLAIN)),
            _cell(widths[3], (PLAIN, a.magistrate_approved_on)),
            _cell(widths[4], (PLAIN, a.expires_on + (" (expired)" if a.expired else ""))),
            _cell(
                widths[5], (PLAIN_MIXED, a.recorded_by), (PLAIN, f"confirmed by {a.confirmed_by}")
            ),
        ]
        for a in items
    ]


AUTHORISATION_HEADER = (
    "Reference", "Person", "Authorising officer", "Magistrate", "Expires", "Recorded by",
)  # fmt: skip
AUTHORISATION_WIDTHS = (92.0, 72.0, 92.0, 58.0, 62.0, WIDTH - 376.0)


def _authorisations_relied_on(data: ReportData) -> list[Flowable]:
    story: list[Flowable] = [Paragraph("Surveillance authorisations relied on", H1)]
    if not data.authorisations:
        return [
            *story,
            _empty(
                "None: no RIPA authorisation, confirmed by a second manager, was relied on for "
                "this case's requests."
            ),
        ]
    ordered = sorted(data.authorisations, key=lambda a: a.id)
    story.append(
        Paragraph(
            "Each was recorded by a manager who did not write the request and confirmed by a "
            "second manager. Expiry is a UK date: valid to the end of that day.",
            CAPTION,
        )
    )
    return [
        *story,
        *_grid(AUTHORISATION_HEADER, _authorisation_rows(ordered), AUTHORISATION_WIDTHS),
    ]


def _story(data: ReportData) -> list[Flowable]:
    return [
        *_header(data),
        *_purpose(data),
        *_justifications(data),
        *_policy_in_force(data),
        *_authorisations_relied_on(data),
        *_at_a_glance(data),
        *_findings(data),
        *_collateral(data),
        *_analysis(data),
        *_evaluation(data),
        *_provenance(data),
        *_limitations(data),
        *_checkpoint(data),
    ]


# --- page furniture and the document ---------------------------------------------------


class _Furniture:
    """What every page carries: the marking top and bottom, the case, "Page x of y"."""

    def __init__(self, data: ReportData) -> None:
        self.marking = fit_line(_classification(data), fonts.BOLD, 10, 220)
        self.case = fit_line(
            one_line(data.case_reference) or "no case reference", fonts.BOLD, 8, 160
        )
        # UK local time only: the first page gives UTC beside it, and the header has
        # room for one (it must not run into the marking in the middle).
        local = data.dated if data.dated.tzinfo else data.dated.replace(tzinfo=UTC)
        local = local.astimezone(UK_TIME)
        self.dated = fit_line(
            f"Reasoned note, {local.day} {local:%b %Y, %H:%M} {local.tzname()}",
            fonts.REGULAR,
            8,
            160,
        )

    def draw(self, canvas: Canvas, page: int, total: int) -> None:
        top, bottom = PAGE_H - 12 * mm, 10 * mm
        left, right, middle = MARGIN_X, PAGE_W - MARGIN_X, PAGE_W / 2
        canvas.saveState()
        canvas.setFillColor(INK)
        marking = _Look(fonts.BOLD, 10, 10, INK)
        case = _Look(fonts.BOLD, 8, 8, INK)
        for y in (top, bottom):
            _draw_line(canvas, middle, y, marking, self.marking, centred=True)
            _draw_line(canvas, left, y, case, self.case)
        canvas.setFillColor(MUTED)
        canvas.setFont(fonts.REGULAR, 8)
        canvas.drawRightString(right, top, self.dated)
        canvas.drawRightString(right, bottom, f"Page {page} of {total}")
        canvas.setStrokeColor(RULE)
        canvas.setLineWidth(0.5)
        canvas.line(left, top - 3.5 * mm, right, top - 3.5 * mm)
        canvas.line(left, bottom + 4 * mm, right, bottom + 4 * mm)
        canvas.restoreState()


def _draw_line(
    canvas: Canvas, x: float, y: float, look: _Look, line: str, *, centred: bool = False
) -> None:
    """One line of :func:`visible` text on the canvas, from ``x`` or centred on it."""
    if not needs_layout(line):
        canvas.setFont(look.face, look.size)
        (canvas.drawCentredString if centred else canvas.drawString)(x, y, line)
        return
    runs = layout(line, look.face)
    if centred:
        x -= sum(run.width for run in runs) * look.size / 1000 / 2
    ops = ["BT", f"{fp_str(*look.color.rgb())} rg"]
    ops += _run_ops(canvas._doc, runs, x, y, look)
    canvas.addLiteral("\n".join([*ops, "ET"]))


def _canvas_maker(data: ReportData) -> Callable[..., Canvas]:
    furniture = _Furniture(data)

    class NoteCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
        """Holds the pages back until the end, so that each can say "Page x of y"."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._held: list[dict[str, Any]] = []
            _date_document(self, data.dated)

        def showPage(self) -> None:
            self._held.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._held)
            for number, state in enumerate(self._held, start=1):
                self.__dict__.update(state)
                furniture.draw(self, number, total)
                super().showPage()
            super().save()

    return NoteCanvas


def _date_document(canvas: Canvas, dated: datetime) -> None:
    """Date the PDF by the checkpoint: never the clock, nor SOURCE_DATE_EPOCH.

    ``invariant=1`` alone dates the file 2000-01-01, or by SOURCE_DATE_EPOCH if the
    environment sets it, and seeds the file's /ID from that. Both are replaced by the
    note's own date, so the same data gives the same bytes on every machine.
    """
    moment = (dated if dated.tzinfo else dated.replace(tzinfo=UTC)).astimezone(UTC)
    stamp = TimeStamp(invariant=1)
    stamp.t = moment.timestamp()
    stamp.lt = moment.timetuple()
    stamp.YMDhms = tuple(moment.timetuple())[:6]
    stamp.dhh = stamp.dmm = 0
    stamp.tzname = "UTC"
    doc = canvas._doc
    doc._timeStamp = stamp
    doc.signature = hashlib.md5(b"a reportlab document", usedforsecurity=False)
    doc.signature.update(ascii(stamp.t).encode("ascii"))


def render_pdf(data: ReportData) -> bytes:
    """The reasoned note for ``data``, as PDF bytes: the same data gives the same bytes."""
    fonts.register()
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=fit_line(
            f"Reasoned note {data.case_reference}: {_title(data)}", fonts.REGULAR, 10, 2000
        ),
        author=fit_line(data.author, fonts.REGULAR, 10, 2000),
        subject=f"Reasoned note; {_classification(data)}",
        creator=fit_line(data.tool, fonts.REGULAR, 10, 2000),
        keywords=_classification(data),
        invariant=1,
        pageCompression=1,
        lang="en-GB",
        initialFontName=fonts.REGULAR,  # else every page names Helvetica, never embedded
        initialFontSize=9.5,
    )
    frame = Frame(
        MARGIN_X, MARGIN_BOTTOM, WIDTH, FRAME_H, id="body",
        leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0,
    )  # fmt: skip
    doc.addPageTemplates([PageTemplate(id="note", frames=[frame])])
    doc.build(_story(data), canvasmaker=_canvas_maker(data))
    return buffer.getvalue()
