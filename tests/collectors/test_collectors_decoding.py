"""Content-Encoding undone in bounded pieces: bombs stop, damage is reported."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from collectors.decoding import PIECE, BodyDecoder, DecodeError, parse_codings, supported

TEXT = b"The quick brown fox. " * 5000


def decode_all(codings: tuple[str, ...], data: bytes, step: int = 1000) -> bytes:
    decoder = BodyDecoder(codings)
    out = bytearray()
    for start in range(0, len(data), step):
        for piece in decoder.feed(data[start : start + step]):
            assert len(piece) <= PIECE
            out += piece
    for piece in decoder.finish():
        out += piece
    return bytes(out)


@pytest.mark.parametrize(
    ("codings", "encoded"),
    [
        (("gzip",), gzip.compress(TEXT)),
        (("x-gzip",), gzip.compress(TEXT)),
        (("gzip",), gzip.compress(TEXT[:50_000]) + gzip.compress(TEXT[50_000:])),  # 2 members
        (("deflate",), zlib.compress(TEXT)),  # zlib-wrapped, as the RFC says
        (("deflate",), zlib.compress(TEXT)[2:-4]),  # raw deflate, as some servers send
        (("br",), brotli.compress(TEXT)),
        (("gzip", "br"), brotli.compress(gzip.compress(TEXT))),  # applied in order
        ((), TEXT),
    ],
)
def test_round_trip(codings: tuple[str, ...], encoded: bytes) -> None:
    assert decode_all(codings, encoded) == TEXT


@pytest.mark.parametrize(
    ("codings", "bomb"),
    [
        (("gzip",), gzip.compress(b"\0" * (20 << 20))),
        (("br",), brotli.compress(b"\0" * (20 << 20))),
        (("deflate",), zlib.compress(b"\0" * (20 << 20))),
    ],
)
def test_bombs_come_out_in_small_pieces(codings: tuple[str, ...], bomb: bytes) -> None:
    decoder = BodyDecoder(codings)
    total = 0
    for piece in decoder.feed(bomb):
        assert len(piece) <= PIECE
        total += len(piece)
        if total > 1 << 20:
            break  # the caller stops here: nothing beyond the cap was ever produced
    assert 1 << 20 < total <= (1 << 20) + PIECE


def test_gzip_trailing_garbage_is_ignored() -> None:
    assert decode_all(("gzip",), gzip.compress(TEXT) + b"\0\0junk") == TEXT


@pytest.mark.parametrize(
    ("codings", "damaged"),
    [
        (("gzip",), gzip.compress(TEXT)[:-30]),
        (("gzip",), b"\x1f\x8b\x08\x00garbage-garbage"),
        (("br",), brotli.compress(TEXT)[:-5]),
        (("br",), b"\xff" * 50),
        (("deflate",), b"x"),
    ],
)
def test_damaged_bodies_raise(codings: tuple[str, ...], damaged: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_all(codings, damaged)


def test_codings_header() -> None:
    assert parse_codings(None) == ()
    assert parse_codings("identity") == ()
    assert parse_codings(" GZIP , br") == ("gzip", "br")
    assert supported(("gzip", "br", "deflate"))
    assert not supported(("zstd",))
    with pytest.raises(ValueError, match="unsupported"):
        BodyDecoder(("compress",))
