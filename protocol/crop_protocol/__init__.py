"""crop_protocol: the wire between cropd and its clients, and nothing else.

msgspec Structs in one tagged union per direction, the envelope and codec,
error codes and PROTOCOL_VERSION. Imports nothing of ours and no ZeroMQ.
"""

from crop_protocol.codec import (
    MAX_MESSAGE_SIZE,
    PROTOCOL_VERSION,
    ProtocolError,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
)
from crop_protocol.errors import ErrorCode
from crop_protocol.messages import Err, Reply, Request

__all__ = [
    "MAX_MESSAGE_SIZE",
    "PROTOCOL_VERSION",
    "Err",
    "ErrorCode",
    "ProtocolError",
    "Reply",
    "Request",
    "decode_reply",
    "decode_request",
    "encode_reply",
    "encode_request",
]
