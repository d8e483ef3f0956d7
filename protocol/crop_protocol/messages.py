"""Every message on the wire: one tagged union of requests, one of replies.

Rules: every message is a named Struct; new fields get defaults; a tag is
never reused. The tag is the class name, in the `type` field.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

# The one outcome vocabulary, from the wire to the tracker and the progress file.
Outcome = Literal["cropped", "kept", "skipped", "failed", "deleted"]


class _Msg(msgspec.Struct, tag=True, kw_only=True, forbid_unknown_fields=False):
    pass


# --- requests ---------------------------------------------------------------

class Hello(_Msg):
    """First message of a client: who it is. Answered by `Welcome`."""
    pid: int
    host: str
    program: str = ""
    protocol_version: int = 0
    create_time: float = 0.0  # psutil's process create time: pid reuse can't fool leases


class Discover(_Msg):
    """The work folders under a directory (itself, or its subfolders with images)."""
    directory: str


class Open(_Msg):
    """Start or resume work on a directory. Answered by `Opened`."""
    directory: str
    output_dir: str | None = None
    progress_dir: str | None = None
    reset: bool = False
    retry_skipped: bool = False
    retry_failed: bool = False
    move: bool = False
    read_only: bool = False  # --show-progress: no session, no claims
    output_shape: str | None = None  # --fit/--max-side/--exact, recorded per directory
    # Team mode, from a workstation: what it sees at its own mount of the directory, so
    # the daemon can tell a share mounted elsewhere than it thinks (`names_digest` as
    # crop_progress.scan.names_digest; `sample`: a few of the image names, spread out)
    client_path: str | None = None
    image_count: int | None = None
    names_digest: str | None = None
    sample: list[str] = msgspec.field(default_factory=list)


class Claim(_Msg):
    """Lease the next `count` images; or, with `files`, re-lease those (after a restart)."""
    directory: str
    count: int = 1
    files: list[str] | None = None
    # with `files`: they are every image this client holds here (its recovery after a
    # daemon restart); any other lease the daemon kept for it goes back to the queue
    all_held: bool = False


class Renew(_Msg):
    """Heartbeat: renew every lease of this client."""


class Report(_Msg):
    """The outcome of one claimed image, sent after the files are in place."""
    directory: str
    file: str
    outcome: Outcome
    dest: str | None = None
    companions: list[str] = msgspec.field(default_factory=list)
    reason: str | None = None
    box: list[int] | None = None
    batch: str | None = None
    moved: bool = False
    trashed: list[str] = msgspec.field(default_factory=list)
    token: int = 0          # the lease token of the claim; a stale one is LEASE_LOST
    out_size: list[int] | None = None  # [w, h] when the output was shaped


class Release(_Msg):
    """Give claimed images back (all of this client's in the directory when `files` is None)."""
    directory: str
    files: list[str] | None = None


class Undo(_Msg):
    """Take back this client's last submitted batch in the directory."""
    directory: str


class Goodbye(_Msg):
    """The client is leaving: release its leases, end its sessions."""


class Status(_Msg):
    pass


class Show(_Msg):
    directory: str
    progress_dir: str | None = None


class Log(_Msg):
    directory: str
    since: str | None = None
    progress_dir: str | None = None


class Stats(_Msg):
    days: int = 7


class Reset(_Msg):
    directory: str
    progress_dir: str | None = None


class Rebuild(_Msg):
    directory: str
    progress_dir: str | None = None
    output_dir: str | None = None


class Shutdown(_Msg):
    pass


Request = (Hello | Discover | Open | Claim | Renew | Report | Release | Undo | Goodbye | Status
           | Show | Log | Stats | Reset | Rebuild | Shutdown)
# Requests whose replies are cached for retries: they change state.
MUTATING = (Open, Claim, Report, Release, Undo, Goodbye, Reset, Rebuild, Shutdown)


# --- replies ----------------------------------------------------------------

class Holder(msgspec.Struct, kw_only=True):
    """Who holds images of a directory now: a team member (`user`) or a local window."""
    user: str | None = None
    host: str = ""
    pid: int = 0
    program: str = ""
    client: str = ""
    files: list[str] = msgspec.field(default_factory=list)
    expires_in: float = 0.0   # seconds until the lease lapses without a heartbeat


class Summary(msgspec.Struct, kw_only=True):
    """One directory at a glance: the `directories` entries of `cropctl status --json`."""
    directory: str
    progress_file: str
    total_images: int = 0
    completed_count: int = 0
    skipped_count: int = 0
    failed_count: int = 0
    deleted_count: int = 0
    percent: float = 0.0
    work_seconds: float = 0.0
    session_count: int = 0
    last_session_end: str | None = None
    active_claims: int = 0
    # beyond SPEC's list
    output_directory: str = ""
    current_index: int = 0
    last_processed_file: str | None = None
    last_session_start: str | None = None
    session_images: int = 0
    session_work_seconds: float = 0.0
    remaining: int = 0
    rate_images: int = 0          # the recent rate: images ...
    rate_seconds: float = 0.0     # ... in this much work time
    eta_seconds: float | None = None
    modified: str = ""
    last_activity: str | None = None
    active_windows: int = 0       # clients that have the directory open now
    output_shape: str | None = None
    holders: list[Holder] = msgspec.field(default_factory=list)  # in StatusReply only


class Welcome(_Msg):
    daemon_pid: int
    version: str
    protocol_version: int
    endpoint: str
    progress_dir: str
    host: str
    lease_ttl: float
    break_threshold: float
    events_endpoint: str | None = None  # the PUB feed of crop_protocol.feed, when there is one
    user: str | None = None   # the team member this client authenticated as (tcp only)
    shares: dict[str, str] = msgspec.field(default_factory=dict)  # share -> daemon's mount


class Opened(_Msg):
    """`summary` is the state before this session began: what the resume message shows."""
    summary: Summary
    resumed: bool
    messages: list[str] = msgspec.field(default_factory=list)
    new_session: bool = True


class WorkDirs(_Msg):
    directories: list[str]


class ClaimedImage(msgspec.Struct, kw_only=True):
    file: str
    path: str
    position: int          # 1-based place in the directory's order
    companions: list[str] = msgspec.field(default_factory=list)
    size: int = 0
    token: int = 0         # the lease token: monotonic per directory, sent back in Report


class Claimed(_Msg):
    items: list[ClaimedImage]
    summary: Summary
    lease_ttl: float
    lost: list[str] = msgspec.field(default_factory=list)
    held_by_others: int = 0  # images of this directory leased to other clients now


class Renewed(_Msg):
    leases: int


class Reported(_Msg):
    summary: Summary
    duplicate: bool = False
    file: str = ""
    outcome: str = ""   # what was recorded, echoed


class Released(_Msg):
    count: int


class UndoneItem(msgspec.Struct, kw_only=True):
    file: str
    outcome: str
    dest: str | None = None
    companions: list[str] = msgspec.field(default_factory=list)
    moved: bool = False
    trashed: list[str] = msgspec.field(default_factory=list)
    box: list[int] | None = None
    token: int = 0


class Undone(_Msg):
    """The undone images are leased to the client again, to be shown again."""
    items: list[UndoneItem]
    summary: Summary


class DaemonInfo(msgspec.Struct, kw_only=True):
    running: bool
    pid: int | None = None
    version: str | None = None
    endpoint: str | None = None
    progress_dir: str | None = None
    uptime_seconds: float | None = None
    clients: int | None = None
    events_endpoint: str | None = None
    listen: str | None = None   # the team endpoint (tcp, CURVE), when it serves one
    break_threshold: float | None = None  # its --break-threshold: what work time means


class StatusReply(_Msg):
    daemon: DaemonInfo
    directories: list[Summary]
    problems: list[str] = msgspec.field(default_factory=list)  # files that could not be read


class FailedEntry(msgspec.Struct):
    file: str
    reason: str


class SessionEntry(msgspec.Struct, kw_only=True):
    start: str
    end: str | None = None
    images: int = 0
    work_seconds: float = 0.0


class ShowReply(_Msg):
    summary: Summary
    skipped_files: list[str] = msgspec.field(default_factory=list)
    failed_files: list[FailedEntry] = msgspec.field(default_factory=list)
    deleted_files: list[str] = msgspec.field(default_factory=list)
    sessions: list[SessionEntry] = msgspec.field(default_factory=list)


class LogReply(_Msg):
    events: list[dict[str, Any]]


class StatsRow(msgspec.Struct, kw_only=True):
    day: str
    directory: str
    images: int
    work_seconds: float


class StatsReply(_Msg):
    rows: list[StatsRow]
    origin_seconds: float = 0.0


class Ok(_Msg):
    message: str = ""
    summary: Summary | None = None
    messages: list[str] = msgspec.field(default_factory=list)


class Err(_Msg):
    code: str
    message: str


Reply = (Welcome | Opened | WorkDirs | Claimed | Renewed | Reported | Released | Undone
         | StatusReply | ShowReply | LogReply | StatsReply | Ok | Err)
