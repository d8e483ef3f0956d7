"""How deep and how many: a cheap look at msgpack bytes before msgspec decodes them.

msgspec recurses once per nesting level and has no depth limit of its own (it
raises RecursionError near the interpreter's limit, or worse on a small stack),
so a request is checked here first. Each open container needs a header byte of
its own, so data with fewer container header bytes than MAX_DEPTH cannot nest
deeper: most messages are passed by one C-speed `translate` and never walked.
"""

from __future__ import annotations

import struct

MAX_DEPTH = 32          # a real request nests 4 deep (envelope, body, list, item)
MAX_ELEMENTS = 65_536   # values in one request (a Claim of 60,000 names still fits)

# Header bytes of fixmap, fixarray, array16/32, map16/32.
_CONTAINER = bytes([*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF])
_OTHERS = bytes(b for b in range(256) if b not in _CONTAINER)

# Fixed sizes (after the type byte) of the scalar formats that carry no length.
_FIXED = {0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8,
          0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17}
# Formats followed by a big-endian length of 1, 2 or 4 bytes, then that many bytes
# (ext formats: one type byte more).
_SIZED = {0xC4: (1, 0), 0xC5: (2, 0), 0xC6: (4, 0), 0xD9: (1, 0), 0xDA: (2, 0), 0xDB: (4, 0),
          0xC7: (1, 1), 0xC8: (2, 1), 0xC9: (4, 1)}
# array16, array32, map16, map32: the width of the count, values per entry.
_CONTAINER_SIZED = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}
_UNPACK = {1: struct.Struct(">B").unpack_from, 2: struct.Struct(">H").unpack_from,
           4: struct.Struct(">I").unpack_from}


class ShapeError(ValueError):
    """The data nests deeper or holds more values than allowed."""


def check_shape(data: bytes, *, max_depth: int = MAX_DEPTH,
                max_elements: int | None = MAX_ELEMENTS) -> None:
    """Raise ShapeError when `data` (one msgpack value) exceeds the limits.

    Malformed or truncated data is not this function's business: it stops
    there and leaves the error to the decoder.
    """
    if len(data.translate(None, _OTHERS)) <= max_depth and (
            max_elements is None or len(data) <= max_elements):
        return  # cannot nest that deep, cannot hold that many values (each takes a byte)
    _walk(data, max_depth, max_elements)


def _walk(data: bytes, max_depth: int, max_elements: int | None) -> None:
    pending: list[int] = []  # values still to read in each open container
    remaining = 1
    elements = 0
    pos, end = 0, len(data)
    while pos < end:
        if remaining == 0:
            if not pending:
                return  # one whole value read; trailing bytes are the decoder's to refuse
            remaining = pending.pop()
            continue
        remaining -= 1
        elements += 1
        if max_elements is not None and elements > max_elements:
            raise ShapeError(f"more than {max_elements} values")
        byte = data[pos]
        pos += 1
        if byte <= 0x7F or byte >= 0xE0:
            continue
        if byte <= 0x8F:
            count = 2 * (byte & 0x0F)
        elif byte <= 0x9F:
            count = byte & 0x0F
        elif byte <= 0xBF:
            pos += byte & 0x1F
            continue
        elif byte in _FIXED:
            pos += _FIXED[byte]
            continue
        elif byte in _SIZED:
            width, extra = _SIZED[byte]
            if pos + width > end:
                return
            pos += width + extra + _UNPACK[width](data, pos)[0]
            continue
        elif byte in _CONTAINER_SIZED:
            width, per_entry = _CONTAINER_SIZED[byte]
            if pos + width > end:
                return
            count = per_entry * _UNPACK[width](data, pos)[0]
            pos += width
        else:
            return  # 0xC1, never used: the decoder says so
        if count > 0:
            pending.append(remaining)
            if len(pending) > max_depth:
                raise ShapeError(f"nested deeper than {max_depth} levels")
            remaining = count
