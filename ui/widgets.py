"""Small building blocks shared by the windows: labelled fields, headings, tables.

Sizes follow the system font (headings are a multiple of it, widths are counted in
characters), so text scales with the desktop's settings. Every field gets a label
with a mnemonic and the label's text as its accessible name.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QFont, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionFocusRect,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)


def plain(text: str) -> str:
    """A label's text without its mnemonic marker, for accessible names."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(":")


def add_row(form: QFormLayout, text: str, field: QWidget, *, description: str = "") -> QLabel:
    """A labelled row whose label focuses the field (Alt+mnemonic) and names it."""
    label = QLabel(text)
    label.setBuddy(field)
    field.setAccessibleName(plain(text))
    if description:
        field.setAccessibleDescription(description)
        field.setToolTip(description)
    form.addRow(label, field)
    return label


def heading(text: str, scale: float = 1.3) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setPointSizeF(font.pointSizeF() * scale)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    # A heading can hold a case's or a page's title, as long as its author made it:
    # it wraps to the window, and a word longer than the window (an address) is cut
    # short there rather than making the window wider than the screen.
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    return label


def note(text: str = "") -> QLabel:
    """A wrapped paragraph of explanation."""
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def promise(text: str, name: str) -> tuple[QCheckBox, QHBoxLayout]:
    """A short "I promise:" box with the promise's words wrapped beside it.

    A check box's own text does not wrap, so a long promise in it is cut off. The
    words are the box's accessible description; ``name`` names the box, and the words
    are ``name + "Words"``.
    """
    box = QCheckBox("I &promise:")
    box.setObjectName(name)
    box.setAccessibleName("I promise: logged out, no fake profile, no interaction")
    box.setAccessibleDescription(text)
    words = note(text)
    words.setObjectName(f"{name}Words")
    row = QHBoxLayout()
    row.addWidget(box, 0, Qt.AlignmentFlag.AlignTop)
    row.addWidget(words, 1, Qt.AlignmentFlag.AlignTop)
    return box, row


def request_choice(name: str) -> QComboBox:
    """The request to work under: wide enough to read a request's question."""
    combo = QComboBox()
    combo.setObjectName(name)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(30)
    return combo


def chars(widget: QWidget, count: int) -> int:
    """The width of ``count`` average characters in the widget's font."""
    return widget.fontMetrics().averageCharWidth() * count


def lines(widget: QWidget, count: float) -> int:
    return int(widget.fontMetrics().lineSpacing() * count)


def table(
    model: QAbstractItemModel, name: str, accessible: str, *, stretch: int = -1
) -> QTableView:
    """A read-only, row-selecting, keyboard-friendly table over ``model``."""
    view = QTableView()
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside it
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().setVisible(False)
    # Fixed row heights from the font: measuring every row would make big tables slow.
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(lines(view, 1.6))
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if stretch >= 0:
        header.setStretchLastSection(False)
        header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    else:
        header.setStretchLastSection(True)
    return view


class WrappedText(QStyledItemDelegate):
    """Draws each item's text wrapped to the list's width, on the item's badge colour.

    Qt's own word wrap in a list measures items before the list knows its width, so
    long items came out cut short or with gaps; this measures and draws with one rule.
    """

    PAD = 4

    def __init__(self, view: QListView) -> None:
        super().__init__(view)
        self.view = view

    def _text(self, index: QModelIndex | QPersistentModelIndex) -> str:
        value = index.data(Qt.ItemDataRole.DisplayRole)
        return str(value) if value is not None else ""

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        width = max(chars(self.view, 10), self.view.viewport().width() - 2 * self.view.spacing())
        bounds = QRect(0, 0, width - 2 * self.PAD, 1_000_000)
        flags = int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft)
        used = self.view.fontMetrics().boundingRect(bounds, flags, self._text(index))
        return QSize(width, used.height() + 2 * self.PAD)

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        painter.save()
        rect = option.rect
        state = option.state
        palette = option.palette
        if state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, palette.highlight())
            painter.setPen(palette.highlightedText().color())
        else:
            background = index.data(Qt.ItemDataRole.BackgroundRole)
            if isinstance(background, QBrush):
                painter.fillRect(rect, background)
            ink = index.data(Qt.ItemDataRole.ForegroundRole)
            painter.setPen(ink.color() if isinstance(ink, QBrush) else palette.text().color())
        painter.setFont(self.view.font())
        painter.drawText(
            rect.adjusted(self.PAD, self.PAD, -self.PAD, -self.PAD),
            int(Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            self._text(index),
        )
        if state & QStyle.StateFlag.State_HasFocus:
            focus = QStyleOptionFocusRect()
            focus.rect = rect
            focus.palette = palette
            self.view.style().drawPrimitive(
                QStyle.PrimitiveElement.PE_FrameFocusRect, focus, painter, self.view
            )
        painter.restore()


def item_list(model: QAbstractItemModel, column: int, name: str, accessible: str) -> QListView:
    """One column of ``model`` as a list whose items wrap to the width (for long text)."""
    view = QListView()
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setModelColumn(column)
    view.setItemDelegate(WrappedText(view))
    view.setUniformItemSizes(False)
    view.setResizeMode(QListView.ResizeMode.Adjust)
    # With word wrap on, the list lays its items out again when only its width changes
    # (a scroll bar appearing, the window narrowed); otherwise an item that now needs
    # another line keeps its old place and the next one is drawn over it.
    view.setWordWrap(True)
    view.setSpacing(2)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return view


def fit_columns(view: QTableView, *, limit_chars: int = 40) -> None:
    """Size columns to their contents, none wider than ``limit_chars`` characters."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    widest = chars(view, limit_chars)
    model = view.model()
    for column in range(model.columnCount() if model is not None else 0):
        if header.sectionResizeMode(column) != QHeaderView.ResizeMode.Stretch:
            header.resizeSection(column, min(header.sectionSize(column), widest))
