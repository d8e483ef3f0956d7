"""The error codes of `Err(code, message)`: a small, stable table."""

from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    BAD_MESSAGE = "BAD_MESSAGE"          # undecodable, oversized, unknown type, bad framing
    VERSION_MISMATCH = "VERSION_MISMATCH"  # client and daemon speak different protocols
    BAD_REQUEST = "BAD_REQUEST"          # decodable but wrong: relative path, file outside dir
    UNKNOWN_CLIENT = "UNKNOWN_CLIENT"    # no Hello from this client (the daemon restarted)
    UNKNOWN_DIRECTORY = "UNKNOWN_DIRECTORY"  # not opened / never seen
    NOT_FOUND = "NOT_FOUND"              # missing directory or image
    LEASE_LOST = "LEASE_LOST"            # the image is now held by another client
    STORAGE_ERROR = "STORAGE_ERROR"      # disk full, read-only folder: nothing was changed
    DAMAGED = "DAMAGED"                  # a progress file that is refused (newer schema)
    NOTHING_TO_UNDO = "NOTHING_TO_UNDO"
    BUSY = "BUSY"                        # shutting down or overloaded; retry later
    NOT_ALLOWED = "NOT_ALLOWED"          # a team member asked what only the daemon's owner may
    MISMATCH = "MISMATCH"                # a share mounted elsewhere than the daemon has it
    INTERNAL = "INTERNAL"                # a bug: the daemon logged it and keeps serving
