"""The daemon's event feed: what cropd publishes on its PUB socket, one topic per kind.

Each message is two frames, `[topic, msgpack body]`. A subscriber picks kinds by
topic prefix (`b""` for all). Topics:

- `op`: one journal event that is now durable (an audit line: crop, keep, claim, ...);
- `status`: a directory whose figures changed, as its `Summary`, with the time of
  the last event that changed it;
- `daemon`: the daemon itself started or is stopping.

The feed is best effort: a slow subscriber loses messages (ZeroMQ's high-water
mark) rather than slowing the daemon; a `status` always carries the whole
figures, so the next one repairs whatever was lost.
"""

from __future__ import annotations

from typing import Any

import msgspec

from crop_protocol.messages import Summary

TOPIC_OP = b"op"
TOPIC_STATUS = b"status"
TOPIC_DAEMON = b"daemon"
TOPICS = (TOPIC_OP, TOPIC_STATUS, TOPIC_DAEMON)


class OpEvent(msgspec.Struct, kw_only=True):
    """One audit event (the fields of an audit log line), once it is in the journal."""
    event: dict[str, Any]


class StatusChange(msgspec.Struct, kw_only=True):
    summary: Summary
    ts: str | None = None       # the last event behind this change (UTC ISO 8601)


class DaemonChange(msgspec.Struct, kw_only=True):
    state: str                  # "started" | "stopping"
    pid: int
    ts: str


FeedMessage = OpEvent | StatusChange | DaemonChange
_TYPES: dict[bytes, type] = {TOPIC_OP: OpEvent, TOPIC_STATUS: StatusChange,
                             TOPIC_DAEMON: DaemonChange}
_encoder = msgspec.msgpack.Encoder()
_decoders: dict[bytes, msgspec.msgpack.Decoder[Any]] = {
    topic: msgspec.msgpack.Decoder(kind) for topic, kind in _TYPES.items()}


def encode(message: FeedMessage) -> list[bytes]:
    """The two frames of a message: its topic, then its body."""
    topic = {OpEvent: TOPIC_OP, StatusChange: TOPIC_STATUS,
             DaemonChange: TOPIC_DAEMON}[type(message)]
    return [topic, _encoder.encode(message)]


def decode(frames: list[bytes]) -> FeedMessage | None:
    """A message from its frames; None for a topic this side does not know or a bad body."""
    if len(frames) != 2 or frames[0] not in _decoders:
        return None
    try:
        return _decoders[frames[0]].decode(frames[1])  # type: ignore[no-any-return]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
