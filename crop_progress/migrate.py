"""Older progress-file schemas to the current one (version 1 is the seed's format)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from crop_progress.model import SCHEMA_VERSION, Progress

V1_FIELDS = ("directory", "directory_hash", "total_images", "completed_count", "current_index",
             "last_processed_file", "last_session_start", "last_session_end", "session_count",
             "completed_files", "skipped_files", "output_directory", "created", "modified")


def from_v1(raw: dict[str, Any], directory: str | None) -> Progress:
    """The seed's format: relative `directory` such as `_asian/`, no failed/deleted lists.

    Nothing completed is dropped; `directory` becomes the resolved path when the
    caller knows it, and a relative `output_directory` is kept as written when
    it cannot be placed (the daemon sets the real one on open).
    """
    fields = {k: raw[k] for k in V1_FIELDS if k in raw and raw[k] is not None}
    if directory is not None:
        fields["directory"] = directory
    fields.setdefault("directory", "")
    output = fields.get("output_directory")
    if output and not os.path.isabs(output) and directory is not None:
        fields["output_directory"] = str(Path(directory).parent / output) + os.sep
    fields["schema_version"] = SCHEMA_VERSION
    return msgspec.convert(fields, Progress)
