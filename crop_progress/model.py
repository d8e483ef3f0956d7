"""The progress file: schema version 2 as msgspec Structs, with the seed's field names.

Version 1 is the seed's format (no `schema_version`); `migrate` turns it into
this one. Field order follows the seed, additions after it, so a person reading
the file finds what the design document shows.
"""

from __future__ import annotations

import msgspec

SCHEMA_VERSION = 2


class FailedFile(msgspec.Struct):
    file: str
    reason: str


class SessionRecord(msgspec.Struct, kw_only=True):
    start: str
    end: str | None = None
    images: int = 0
    work_seconds: float = 0.0


class Grant(msgspec.Struct):
    """A lease the daemon handed out: `token` fences the report of `client`."""
    file: str
    token: int
    client: str = ""
    pid: int = 0
    host: str = ""
    user: str | None = None  # a team member's: its lease ends by TTL only, pids mean nothing


class Acked(msgspec.Struct):
    """A recent outcome and the lease token it was reported under (retries, leftovers)."""
    file: str
    token: int


class JournalMark(msgspec.Struct):
    """Where in the journal a checkpoint stands: replay starts at `offset` of `day`."""
    day: str
    offset: int


class Progress(msgspec.Struct, kw_only=True):
    schema_version: int = SCHEMA_VERSION
    directory: str
    directory_hash: str = ""
    total_images: int = 0
    completed_count: int = 0
    current_index: int = 0
    last_processed_file: str | None = None
    last_session_start: str | None = None
    last_session_end: str | None = None
    session_count: int = 0
    completed_files: list[str] = msgspec.field(default_factory=list)
    skipped_files: list[str] = msgspec.field(default_factory=list)
    output_directory: str = ""
    created: str = ""
    modified: str = ""
    failed_files: list[FailedFile] = msgspec.field(default_factory=list)
    deleted_files: list[str] = msgspec.field(default_factory=list)
    work_seconds: float = 0.0
    sessions: list[SessionRecord] = msgspec.field(default_factory=list)
    # Time of the last work event applied; work time continues from it on replay.
    last_event_at: str | None = None
    # How outputs are shaped (`--fit`, `--max-side`, `--exact`); None: full resolution.
    output_shape: str | None = None
    # The journal state a checkpoint carries: the lease tokens given so far, the
    # leases still held, the last outcomes' tokens, and where replay starts.
    lease_token: int = 0
    leases: list[Grant] = msgspec.field(default_factory=list)
    recent_outcomes: list[Acked] = msgspec.field(default_factory=list)
    journal: JournalMark | None = None


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Progress)


def encode(progress: Progress) -> bytes:
    """Indented JSON for people to read, ending in a newline."""
    return msgspec.json.format(_encoder.encode(progress), indent=2) + b"\n"


def decode(data: bytes) -> Progress:
    """Strict decode of a version-2 file; raises msgspec errors on any damage."""
    return _decoder.decode(data)

