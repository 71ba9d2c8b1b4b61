"""A picture of what was kept: a rendered capture's screenshot, or an imported image.

It opens fitted to the width, scrolls with the keyboard (arrows, Page Up/Down, Home,
End) and zooms with Ctrl++ and Ctrl+- (Ctrl+0 fits it to the width again), Ctrl+wheel
or the buttons above it.

The bytes are decoded once, off the GUI thread (a full-page screenshot may be 16,384
pixels tall), and never copied into a scaled image: the canvas paints only the part in
view, scaled by the painter. Bytes that are not a picture Qt can read, a picture cut
short, or one that claims to be too large to hold (a few hundred bytes of PNG can claim
100,000 × 100,000 pixels) show a message in its place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QImage,
    QImageReader,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.tasks import run_task

MAX_SIDE = 32_767
"""Longest side shown, in pixels: Qt's painter coordinates stop here."""
MAX_PIXELS = 50_000_000
"""Largest picture shown (about 200 MB once decoded); a 1,280 × 16,384 screenshot is 21 M."""

ZOOM_STEP = 1.25
MIN_SCALE = 0.02
MAX_SCALE = 8.0
SHARP_FROM = 2.0
"""From this zoom up, pixels are drawn as squares (what was there), not smoothed."""


@dataclass(frozen=True)
class Decoded:
    """A picture read from bytes, or why it could not be."""

    image: QImage | None
    problem: str = ""
    """A sentence for the person, when ``image`` is None."""


def decode(data: bytes) -> Decoded:
    """Read ``data`` as a picture, checking the size its header claims before any pixel
    is decoded. Runs on a worker thread: the buffer and reader are made, used and
    dropped here, and a QImage is plain data (not a QObject), safe to hand back."""
    if not data:
        return Decoded(None, "The picture is empty (0 bytes).")
    buffer = QBuffer()
    buffer.setData(data)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)  # a photo's EXIF orientation, as any viewer shows it
    size = reader.size()
    if not reader.canRead() or not size.isValid():
        return Decoded(None, "This is not a picture Caseview can show.")
    if max(size.width(), size.height()) > MAX_SIDE or size.width() * size.height() > MAX_PIXELS:
        return Decoded(
            None,
            f"The picture says it is {size.width():,} × {size.height():,} pixels, too large "
            "to show here safely.",
        )
    image = reader.read()
    buffer.close()
    if image.isNull():
        return Decoded(
            None,
            f"The picture could not be read ({reader.errorString().rstrip('.')}): it may be "
            "cut short or damaged.",
        )
    # One conversion now, so painting a scaled part of it is a plain blit each time.
    wanted = (
        QImage.Format.Format_ARGB32_Premultiplied
        if image.hasAlphaChannel()
        else QImage.Format.Format_RGB32
    )
    return Decoded(image.convertToFormat(wanted))


class _Canvas(QWidget):
    """The picture at a scale: paints only the part asked for, scaled as it draws."""

    def __init__(self) -> None:
        super().__init__()
        self.image = QImage()
        self.scale = 1.0
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def set_image(self, image: QImage) -> None:
        self.image = image
        self.set_scale(self.scale)

    def scaled_size(self, scale: float) -> QSize:
        return QSize(
            max(1, round(self.image.width() * scale)), max(1, round(self.image.height() * scale))
        )

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.resize(self.scaled_size(scale))
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.image.isNull():
            return
        target = QRectF(event.rect())
        source = QRectF(
            target.x() / self.scale,
            target.y() / self.scale,
            target.width() / self.scale,
            target.height() / self.scale,
        )
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale < SHARP_FROM)
        painter.drawImage(target, self.image, source)
        painter.end()


class _Scroller(QScrollArea):
    """The scroll area: Ctrl+wheel zooms at the pointer, Home and End go to the ends."""

    wheel_zoomed = Signal(float, QPointF)  # factor, where in the viewport
    resized = Signal()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.wheel_zoomed.emit(ZOOM_STEP**steps, event.position())
            event.accept()
            return
        super().wheelEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        bar = self.verticalScrollBar()
        if event.key() == Qt.Key.Key_Home:
            bar.setValue(bar.minimum())
        elif event.key() == Qt.Key.Key_End:
            bar.setValue(bar.maximum())
        else:
            super().keyPressEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class PictureView(QWidget):
    """Zoom buttons over a scrolling picture, or a message where the picture would be.

    :meth:`show_picture` decodes the bytes in the background, then emits
    :attr:`picture_shown` (True: the picture is shown; False: a message is). ``name`` is
    what a screen reader calls it; ``advice`` follows any problem, saying what to do."""

    picture_shown = Signal(bool)

    def __init__(
        self, parent: QWidget | None = None, *, name: str = "Picture", advice: str = ""
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pictureView")
        self.name = name
        self.advice = advice
        self.fitted = True
        self.decoding = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.zoom_out_action = self._action(
            "Zoom out", "zoomOutButton", [QKeySequence.StandardKey.ZoomOut, "Ctrl+_"], self.zoom_out
        )
        self.zoom_in_action = self._action(
            "Zoom in", "zoomInButton", [QKeySequence.StandardKey.ZoomIn, "Ctrl+="], self.zoom_in
        )
        self.fit_action = self._action("Fit to width", "fitWidthButton", ["Ctrl+0"], self.fit_width)
        self.actual_action = self._action("Actual size", "actualSizeButton", [], self.actual_size)
        self.buttons: list[QToolButton] = []
        for action in (
            self.zoom_out_action,
            self.zoom_in_action,
            self.fit_action,
            self.actual_action,
        ):
            button = QToolButton()
            button.setObjectName(action.objectName())
            button.setDefaultAction(action)
            button.setAccessibleName(action.text())
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # a Tab stop, as any button
            bar.addWidget(button)
            self.buttons.append(button)
        self.scale_label = QLabel()
        self.scale_label.setObjectName("pictureScale")
        bar.addWidget(self.scale_label)
        bar.addStretch(1)
        layout.addLayout(bar)
        self.canvas = _Canvas()
        self.scroller = _Scroller()
        self.scroller.setObjectName("pictureScroller")
        self.scroller.setAccessibleName(name)  # a Tab stop: the arrow keys scroll it
        self.scroller.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.scroller.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.scroller.setWidget(self.canvas)
        self.scroller.wheel_zoomed.connect(self._wheel_zoom)
        self.scroller.resized.connect(self._refit)
        self.message = QLabel()
        self.message.setObjectName("pictureMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setFrameShape(QFrame.Shape.StyledPanel)
        self.message.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.message.setAccessibleName(name)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.scroller)
        self.stack.addWidget(self.message)
        layout.addWidget(self.stack, 1)
        self.show_message("No picture yet.")

    def _action(
        self,
        text: str,
        name: str,
        keys: list[QKeySequence.StandardKey | str],
        slot: Callable[[], None],
    ) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        shortcuts = [QKeySequence(key) for key in keys]
        action.setShortcuts(shortcuts)
        # The keys work anywhere in the viewer (the picture or its buttons), not elsewhere.
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        keys_text = ", ".join(
            s.toString(QKeySequence.SequenceFormat.NativeText) for s in shortcuts[:1]
        )
        action.setToolTip(f"{text} ({keys_text})" if keys_text else text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    # --- what is shown ---------------------------------------------------------------

    @property
    def scale(self) -> float:
        return self.canvas.scale

    @property
    def image_size(self) -> QSize:
        """The picture's own size in pixels (empty when a message is shown)."""
        return self.canvas.image.size()

    def has_picture(self) -> bool:
        return self.stack.currentWidget() is self.scroller

    def show_picture(self, data: bytes) -> None:
        """Decode ``data`` in the background, then show it fitted to the width."""
        self.decoding = True
        self.show_message("Opening the picture…")
        run_task(decode, data, on_returned=self._decoded, owner=self)

    def _decoded(self, decoded: Decoded) -> None:
        self.decoding = False
        if decoded.image is None:
            self.show_message(f"{decoded.problem} {self.advice}".strip())
            self.picture_shown.emit(False)
            return
        self.canvas.set_image(decoded.image)
        self.stack.setCurrentWidget(self.scroller)
        self.fitted = True
        self._refit()
        self._update_controls()
        self.picture_shown.emit(True)

    def show_message(self, text: str) -> None:
        """Show ``text`` where the picture would be (and drop any picture held)."""
        self.canvas.set_image(QImage())
        self.message.setText(text)
        self.message.setAccessibleDescription(text)
        self.stack.setCurrentWidget(self.message)
        self._update_controls()

    # --- zoom ------------------------------------------------------------------------

    def fit_scale(self) -> float:
        """The scale at which the picture fills the width, enlarging it at most to
        actual size (a small picture is not blown up until someone zooms in)."""
        width = self.image_size.width()
        if width <= 0:
            return 1.0
        room = self.scroller.maximumViewportSize()
        scale = min(1.0, room.width() / width)
        if self.image_size.height() * scale > room.height():  # a scroll bar will take room
            bar = self.scroller.verticalScrollBar().sizeHint().width()
            scale = min(1.0, max(1, room.width() - bar) / width)
        return max(MIN_SCALE, scale)

    def set_scale(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom to ``scale``, keeping the point at ``anchor`` (in the viewport; its centre
        by default) where it is on screen."""
        if not self.has_picture():
            return
        scale = min(MAX_SCALE, max(MIN_SCALE, scale))
        size = self.canvas.scaled_size(scale)
        if max(size.width(), size.height()) > MAX_SIDE * 2:  # the widget's own limit
            scale = self.scale
        viewport = self.scroller.viewport()
        if anchor is None:
            anchor = QPointF(viewport.width() / 2, viewport.height() / 2)
        across, down = self.scroller.horizontalScrollBar(), self.scroller.verticalScrollBar()
        # Where the anchor falls on the picture itself: the canvas sits at minus the
        # scrolled distance, or centred (to the right) when narrower than the viewport.
        x = (anchor.x() - self.canvas.x()) / self.scale
        y = (anchor.y() - self.canvas.y()) / self.scale
        self.canvas.set_scale(scale)
        across.setValue(round(x * scale - anchor.x()))
        down.setValue(round(y * scale - anchor.y()))
        self._update_controls()

    def zoom_in(self) -> None:
        self.fitted = False
        self.set_scale(self.scale * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.fitted = False
        self.set_scale(self.scale / ZOOM_STEP)

    def _wheel_zoom(self, factor: float, at: QPointF) -> None:
        self.fitted = False
        self.set_scale(self.scale * factor, at)

    def fit_width(self) -> None:
        self.fitted = True
        self._refit()

    def actual_size(self) -> None:
        self.fitted = False
        self.set_scale(1.0)

    def _refit(self) -> None:
        if self.fitted and self.has_picture():
            top = self.scroller.verticalScrollBar().value() / max(self.scale, MIN_SCALE)
            self.canvas.set_scale(self.fit_scale())
            self.scroller.verticalScrollBar().setValue(round(top * self.scale))
            self._update_controls()

    def _update_controls(self) -> None:
        shown = self.has_picture()
        self.zoom_out_action.setEnabled(shown and self.scale > MIN_SCALE)
        self.zoom_in_action.setEnabled(shown and self.scale < MAX_SCALE)
        self.fit_action.setEnabled(shown)
        self.actual_action.setEnabled(shown)
        if not shown:
            self.scale_label.setText("")
            return
        size = self.image_size
        percent = f"{self.scale * 100:.0f}%"
        self.scale_label.setText(
            f"{size.width():,} × {size.height():,} pixels, shown at {percent}"
            + (" (fitted to the width)" if self.fitted else "")
        )
        self.scroller.setAccessibleDescription(
            f"{size.width()} by {size.height()} pixels, shown at {percent}. Arrow keys "
            "scroll; Control plus and minus zoom; Control zero fits it to the width."
        )
