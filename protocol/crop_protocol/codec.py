"""The envelope and its encoding: msgpack through msgspec, one frame per message.

A request travels as `RequestEnvelope(v, client, id, body)`; its reply as
`ReplyEnvelope(v, id, body)`. `v` is PROTOCOL_VERSION on every message, so a
client of another version gets a typed VERSION_MISMATCH, never a crash.

Decoding never raises anything but ProtocolError: a request larger than
MAX_MESSAGE_SIZE, nested deeper than MAX_DEPTH or holding more than
MAX_ELEMENTS values is refused before msgspec sees it (see `limits`), and
whatever msgspec still raises (RecursionError, MemoryError...) is BAD_MESSAGE.
"""

from __future__ import annotations

import msgspec

from crop_protocol.errors import ErrorCode
from crop_protocol.limits import MAX_DEPTH, MAX_ELEMENTS, ShapeError, check_shape
from crop_protocol.messages import Reply, Request

PROTOCOL_VERSION = 1
MAX_MESSAGE_SIZE = 1 << 20  # requests; the daemon's socket drops larger ones (MAXMSGSIZE)
__all__ = ["MAX_DEPTH", "MAX_ELEMENTS", "MAX_MESSAGE_SIZE", "PROTOCOL_VERSION", "ProtocolError",
           "decode_reply", "decode_request", "encode_reply", "encode_request"]


class RequestEnvelope(msgspec.Struct):
    v: int
    client: str
    id: int
    body: Request


class ReplyEnvelope(msgspec.Struct):
    v: int
    id: int
    body: Reply


class _Header(msgspec.Struct):
    """What can be salvaged from a message that does not decode, to address the error."""
    v: int = 0
    client: str = ""
    id: int = 0


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str, request_id: int = 0,
                 client: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id
        self.client = client


_encoder = msgspec.msgpack.Encoder()
_request_decoder = msgspec.msgpack.Decoder(RequestEnvelope)
_reply_decoder = msgspec.msgpack.Decoder(ReplyEnvelope)
_header_decoder = msgspec.msgpack.Decoder(_Header)


def encode_request(client: str, request_id: int, body: Request,
                   version: int = PROTOCOL_VERSION) -> bytes:
    return _encoder.encode(RequestEnvelope(version, client, request_id, body))


def encode_reply(request_id: int, body: Reply) -> bytes:
    return _encoder.encode(ReplyEnvelope(PROTOCOL_VERSION, request_id, body))


def _salvage(data: bytes) -> _Header:
    try:
        return _header_decoder.decode(data)
    except Exception:  # nothing to salvage is an answer too
        return _Header()


def decode_request(data: bytes) -> RequestEnvelope:
    """Raises ProtocolError (BAD_MESSAGE or VERSION_MISMATCH) with what could be salvaged."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise ProtocolError(ErrorCode.BAD_MESSAGE,
                            f"message of {len(data)} bytes exceeds {MAX_MESSAGE_SIZE}")
    try:
        check_shape(data)
    except ShapeError as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"request refused: {exc}") from None
    try:
        envelope = _request_decoder.decode(data)
    except Exception as exc:  # DecodeError, ValidationError, RecursionError...
        header = _salvage(data)
        if header.v and header.v != PROTOCOL_VERSION:
            raise ProtocolError(ErrorCode.VERSION_MISMATCH, _mismatch(header.v),
                                header.id, header.client) from None
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable request: {exc}", header.id,
                            header.client) from None
    if envelope.v != PROTOCOL_VERSION:
        raise ProtocolError(ErrorCode.VERSION_MISMATCH, _mismatch(envelope.v), envelope.id,
                            envelope.client)
    return envelope


def decode_reply(data: bytes) -> ReplyEnvelope:
    try:
        check_shape(data, max_elements=None)  # a status of many directories is long, not deep
        return _reply_decoder.decode(data)
    except Exception as exc:  # DecodeError, ShapeError, RecursionError...
        header = _salvage(data)
        if header.v and header.v != PROTOCOL_VERSION:
            raise ProtocolError(ErrorCode.VERSION_MISMATCH, _mismatch(header.v),
                                header.id) from None
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable reply: {exc}",
                            header.id) from None


def _mismatch(theirs: int) -> str:
    return (f"protocol version {theirs} does not match this side's {PROTOCOL_VERSION}; "
            "restart the daemon (cropctl daemon stop) after upgrading crop-progress")
