"""Undo a response's Content-Encoding in bounded pieces, so a compression bomb cannot
fill memory.

A few kilobytes of gzip or brotli can expand to gigabytes. requests would decode for
us, but without a limit per step; here every decoder is asked for at most ``PIECE``
bytes at a time, and the caller counts them against the size cap between pieces.
Only the codings browsers send in Accept-Encoding are supported: gzip, deflate, br.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Protocol, cast

import brotli

PIECE = 64 * 1024

SUPPORTED = frozenset({"gzip", "x-gzip", "deflate", "br", "identity"})


class DecodeError(Exception):
    """The compressed body is damaged or cut off."""


class _Stage(Protocol):
    def feed(self, data: bytes) -> Iterator[bytes]: ...

    def finish(self) -> Iterator[bytes]: ...


def parse_codings(header: str | None) -> tuple[str, ...]:
    """The Content-Encoding codings in the order the server applied them."""
    if not header:
        return ()
    codings = tuple(c.strip().lower() for c in header.split(",") if c.strip())
    return tuple(c for c in codings if c != "identity")


def supported(codings: Sequence[str]) -> bool:
    return all(c in SUPPORTED for c in codings)


class BodyDecoder:
    """Feed raw (still encoded) bytes in; get decoded pieces of at most ``PIECE`` out."""

    def __init__(self, codings: Sequence[str]) -> None:
        if not supported(codings):
            raise ValueError(f"unsupported content codings {codings!r}")
        # The last coding the server applied is the first one to undo.
        self._stages: list[_Stage] = [_stage_for(c) for c in reversed(codings)]
        self._empty = True

    def feed(self, data: bytes) -> Iterator[bytes]:
        self._empty = self._empty and not data
        return self._through(0, [data], final=False)

    def finish(self) -> Iterator[bytes]:
        if self._empty:
            # No body at all (a 404 or an empty page labelled gzip): nothing to undo, and
            # browsers show it as empty rather than as damaged.
            return iter(())
        return self._through(0, [], final=True)

    def _through(self, index: int, pieces: list[bytes], *, final: bool) -> Iterator[bytes]:
        if index == len(self._stages):
            yield from pieces
            return
        stage = self._stages[index]
        for piece in pieces:
            for out in stage.feed(piece):
                yield from self._through(index + 1, [out], final=False)
        if final:
            for out in stage.finish():
                yield from self._through(index + 1, [out], final=False)
            yield from self._through(index + 1, [], final=True)


def _stage_for(coding: str) -> _Stage:
    if coding in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if coding == "deflate":
        return _Zlib(gzip=False)
    if coding == "br":
        return _Brotli()
    return _Identity()


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        if data:
            yield data

    def finish(self) -> Iterator[bytes]:
        return iter(())


class _Zlib:
    """gzip (members may be concatenated) or deflate (zlib-wrapped, or raw as some
    servers send it)."""

    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._d: zlib._Decompress | None = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        self._head = b""
        self._ignored_tail = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            # "deflate" is ambiguous in practice: look at the first two bytes to see
            # whether a zlib header is there (RFC 1950: CM = 8 and the check bits).
            self._head += data
            if len(self._head) < 2:
                return
            cmf, flg = self._head[0], self._head[1]
            wrapped = cmf & 0x0F == 8 and (cmf * 256 + flg) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
            data, self._head = self._head, b""
        yield from self._drain(data)

    def _drain(self, data: bytes) -> Iterator[bytes]:
        assert self._d is not None
        pending = data
        while True:
            if self._d.eof:
                if not pending or self._ignored_tail:
                    return
                if not (self._gzip and pending.startswith(b"\x1f\x8b")):
                    # Bytes after the end of the compressed stream are not part of the
                    # page; browsers ignore them and so do we (they stay in the raw copy).
                    self._ignored_tail = True
                    return
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = self._d.decompress(pending, PIECE)
            except zlib.error as exc:
                raise DecodeError(str(exc)) from exc
            if out:
                yield out
            pending = self._d.unused_data if self._d.eof else self._d.unconsumed_tail
            # A full piece may leave output waiting inside zlib even with no input left.
            if not pending and len(out) < PIECE:
                return

    def finish(self) -> Iterator[bytes]:
        if self._d is None:
            if self._head:
                raise DecodeError("compressed body shorter than its header")
        elif not self._d.eof:
            raise DecodeError("compressed body ended before the end of its stream")
        return iter(())


def _split(data: bytes) -> Iterator[bytes]:
    # brotli's limit is soft: it stops growing its buffer once past the limit, so one
    # call can return somewhat more. Handing on PIECE-sized slices keeps the promise.
    for start in range(0, len(data), PIECE):
        yield data[start : start + PIECE]


class _BrotliLimited(Protocol):
    """brotli >= 1.2 can limit output per call; its published stubs predate that."""

    def process(self, data: bytes, output_buffer_limit: int = ...) -> bytes: ...

    def can_accept_more_data(self) -> bool: ...

    def is_finished(self) -> bool: ...


class _Brotli:
    def __init__(self) -> None:
        self._d = cast(_BrotliLimited, brotli.Decompressor())

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d.is_finished():
            return  # bytes after the end of the stream are not part of the page
        yield from self._drain(data)

    def _drain(self, data: bytes) -> Iterator[bytes]:
        try:
            out = self._d.process(data, output_buffer_limit=PIECE)
            yield from _split(out)
            # A full buffer can leave output waiting inside the decoder even when it will
            # accept more input; ask with empty input until it has nothing more.
            while out and (len(out) >= PIECE or not self._d.can_accept_more_data()):
                out = self._d.process(b"", output_buffer_limit=PIECE)
                yield from _split(out)
        except brotli.error as exc:
            raise DecodeError(str(exc)) from exc

    def finish(self) -> Iterator[bytes]:
        if not self._d.is_finished():
            yield from self._drain(b"")
        if not self._d.is_finished():
            raise DecodeError("brotli body ended before the end of its stream")
