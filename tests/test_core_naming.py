"""One directory ↔ one progress file: names, clashes, spellings, moved directories."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from core_helpers import isolate_env, touch_all
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crop_progress import model, naming, store
from crop_progress.model import Progress
from crop_progress.paths import canonical_directory, directory_key
from crop_progress.scan import directory_hash, scan_directory

FAST = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    return isolate_env(monkeypatch, tmp_path / "env")


@contextlib.contextmanager
def fresh_tree(base: Path):
    root = Path(tempfile.mkdtemp(dir=base)).resolve()
    try:
        yield root
    finally:
        shutil.rmtree(root)


@contextlib.contextmanager
def working_directory(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def open_directory(progress_dir: Path, spelling: str | Path, current_hash: str = "") -> Path:
    """What the daemon does on open, minimally: resolve, then write the file if new."""
    directory = canonical_directory(spelling)
    resolution = naming.resolve(progress_dir, directory, current_hash or None)
    if not resolution.path.exists():
        store.save(resolution.path, Progress(directory=directory_key(directory),
                                             directory_hash=current_hash))
    return resolution.path


# -- the file name ------------------------------------------------------------------------

@pytest.mark.parametrize("name, stem", [
    ("_asian", "_asian"), ("face groups", "face_groups"), ("a\\b", "a_b"),
    ("character_group_1", "character_group_1"), ("été 2", "été_2"),
])
def test_sanitize(name, stem):
    assert naming.sanitize(name) == stem


def test_sanitize_keeps_long_names_under_name_max():
    stem = naming.sanitize("é" * 300)
    assert len(stem.encode()) <= naming.MAX_STEM_BYTES
    longest = f"{stem}_{'0' * 8}{naming.SUFFIX}.bak.corrupt-20250925T164500123456Z"
    assert len(longest.encode()) <= 255


def test_first_directory_gets_the_plain_name(tmp_path):
    progress = tmp_path / "progress"
    assert open_directory(progress, tmp_path / "_asian") == progress / "_asian_progress.json"


def test_second_directory_with_the_same_base_name_gets_the_hash(tmp_path):
    progress = tmp_path / "progress"
    first = open_directory(progress, tmp_path / "a" / "_asian")
    second = open_directory(progress, tmp_path / "b" / "_asian")
    expected = naming.path_hash(directory_key(tmp_path / "b" / "_asian"))
    assert first.name == "_asian_progress.json"
    assert second.name == f"_asian_{expected}_progress.json"
    assert len(expected) == 8
    # each keeps its own on the next open, whichever order
    assert open_directory(progress, tmp_path / "b" / "_asian") == second
    assert open_directory(progress, tmp_path / "a" / "_asian") == first


def test_progress_files_lists_only_progress_files(tmp_path):
    progress = tmp_path / "progress"
    open_directory(progress, tmp_path / "x")
    (progress / "x_progress.json.bak").write_text("{}")
    (progress / ".x_progress.json.tmp-1a2b3c").write_text("{}")
    (progress / "x_progress.json.corrupt-1").write_text("{}")
    assert naming.progress_files(progress) == [progress / "x_progress.json"]
    assert naming.progress_files(tmp_path / "nowhere") == []


# -- property: no two directories share a file -----------------------------------------------

BASES = ["x", "x y", "x_y", "x\\y", "X", "crafted"]


@FAST
@given(opens=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(BASES)),
                      min_size=1, max_size=12))
def test_no_two_directories_share_a_progress_file(tmp_path_factory, opens):
    with fresh_tree(tmp_path_factory.getbasetemp()) as root:
        progress = root / "progress"
        owners: dict[Path, Path] = {}
        files: dict[Path, Path] = {}
        for parent, base in opens:
            if base == "crafted":
                # a base name that equals the hash-suffixed name another directory would get
                base = f"x_{naming.path_hash(directory_key(root / 'p1' / 'x'))}"
            directory = root / f"p{parent}" / base
            path = open_directory(progress, directory)
            assert owners.setdefault(path, directory) == directory, (
                f"{directory} was given {path.name}, which belongs to {owners[path]}")
            assert files.setdefault(directory, path) == path, "one directory, two files"
        # every directory finds its own file again, in any order
        for directory, path in reversed(list(files.items())):
            assert open_directory(progress, directory) == path


def test_crafted_name_cannot_take_a_hashed_name(tmp_path):
    progress = tmp_path / "progress"
    victim = tmp_path / "p1" / "x"
    crafted = tmp_path / "q" / f"x_{naming.path_hash(directory_key(victim))}"
    a = open_directory(progress, crafted)
    b = open_directory(progress, tmp_path / "p0" / "x")
    c = open_directory(progress, victim)
    assert len({a, b, c}) == 3
    assert open_directory(progress, victim) == c
    assert open_directory(progress, crafted) == a


def test_damaged_file_of_another_directory_is_not_taken(tmp_path):
    """A file truncated in its first session (no .bak) still names its owner."""
    progress = tmp_path / "progress"
    a = open_directory(progress, tmp_path / "a" / "x")
    store.save(a, Progress(directory=directory_key(tmp_path / "a" / "x"),
                           completed_files=[f"{k}.png" for k in range(50)],
                           completed_count=50))
    a.write_bytes(a.read_bytes()[:300])
    with pytest.raises(store.DamagedFileError):
        store.read(a)
    b = open_directory(progress, tmp_path / "b" / "x")
    assert b != a
    assert naming.resolve(progress, tmp_path / "a" / "x").path == a


def test_unreadable_file_with_no_owner_goes_to_its_base_name(tmp_path):
    progress = tmp_path / "progress"
    progress.mkdir()
    (progress / "x_progress.json").write_bytes(b"\x00garbage")
    assert naming.resolve(progress, tmp_path / "a" / "x").path == progress / "x_progress.json"


def test_damaged_file_with_a_good_bak_is_owned_by_the_bak(tmp_path):
    progress = tmp_path / "progress"
    a = open_directory(progress, tmp_path / "a" / "x")
    store.backup(a)
    a.write_bytes(b"{")
    assert naming.resolve(progress, tmp_path / "a" / "x").path == a
    assert naming.resolve(progress, tmp_path / "b" / "x").path != a


def test_seed_file_with_a_relative_directory_belongs_to_that_base_name(tmp_path):
    progress = tmp_path / "progress"
    progress.mkdir()
    (progress / "_asian_progress.json").write_text('{"directory": "_asian/"}')
    assert naming.resolve(progress, tmp_path / "_asian").path == \
        progress / "_asian_progress.json"
    assert naming.resolve(progress, tmp_path / "_black").path == \
        progress / "_black_progress.json"


# -- property: every spelling of one directory maps to one file -------------------------------

SPELLINGS = ["absolute", "trailing", "relative", "dot-relative", "dot-slash", "symlink",
             "symlink-trailing", "dotdot", "double-slash", "relative-symlink"]


def spell(how: str, target: Path, root: Path) -> str:
    rel = os.path.relpath(target, root / "cwd")
    link = root / "links" / "alias"
    return {
        "absolute": str(target),
        "trailing": f"{target}/",
        "relative": rel,
        "dot-relative": f"./{rel}/",
        "dot-slash": f"{target}/./",
        "symlink": str(link),
        "symlink-trailing": f"{link}/",
        "dotdot": f"{target}/../{target.name}",
        "double-slash": str(target).replace("/", "//"),
        "relative-symlink": os.path.relpath(link, root / "cwd") + "/",
    }[how]


@FAST
@given(base=st.sampled_from(["_asian", "x y", "Ünï"]),
       clashes=st.integers(0, 2),
       spellings=st.lists(st.sampled_from(SPELLINGS), min_size=2, max_size=6))
def test_every_spelling_maps_to_one_file(tmp_path_factory, base, clashes, spellings):
    with fresh_tree(tmp_path_factory.getbasetemp()) as root:
        progress = root / "progress"
        for k in range(clashes):  # other directories with the same base name, opened first
            open_directory(progress, root / f"other{k}" / base)
        target = root / "work" / "deep" / base
        target.mkdir(parents=True)
        (root / "cwd").mkdir()
        (root / "links").mkdir()
        (root / "links" / "alias").symlink_to(target)
        with working_directory(root / "cwd"):
            found = {open_directory(progress, spell(how, target, root)) for how in spellings}
        assert len(found) == 1
        (path,) = found
        assert store.read(path).progress.directory == f"{target}/"  # type: ignore[union-attr]


# -- moved or renamed directories --------------------------------------------------------------

def _open_with_images(progress: Path, directory: Path) -> Path:
    scan = scan_directory(directory)
    return open_directory(progress, directory, scan.hash)


def test_moved_directory_is_adopted_with_a_message(tmp_path):
    progress = tmp_path / "progress"
    old = tmp_path / "old" / "_asian"
    touch_all(old, ["a.png", "b.png", "c.jpg"])
    path = _open_with_images(progress, old)
    store.backup(path)
    new = tmp_path / "new" / "_asian_renamed"
    new.parent.mkdir()
    old.rename(new)

    current = directory_hash(["a.png", "b.png", "c.jpg"])
    resolution = naming.resolve(progress, canonical_directory(new), current)
    assert resolution.adopted_from == f"{old}/"
    assert resolution.source == path
    assert resolution.path == progress / "_asian_renamed_progress.json"
    assert resolution.message is not None
    assert f"{old}/" in resolution.message and "adopted" in resolution.message

    naming.adopt(resolution.source, resolution.path)
    assert resolution.path.exists() and store.bak_path(resolution.path).exists()
    assert not path.exists() and not store.bak_path(path).exists()


def test_adoption_needs_the_same_images(tmp_path):
    progress = tmp_path / "progress"
    old = tmp_path / "old"
    touch_all(old, ["a.png", "b.png"])
    _open_with_images(progress, old)
    shutil.rmtree(old)
    other = tmp_path / "other"
    touch_all(other, ["a.png", "z.png"])
    resolution = naming.resolve(progress, other, directory_hash(["a.png", "z.png"]))
    assert resolution.adopted_from is None and resolution.message is None
    assert resolution.path == progress / "other_progress.json"


def test_no_adoption_while_the_old_directory_still_exists(tmp_path):
    progress = tmp_path / "progress"
    old = tmp_path / "old"
    touch_all(old, ["a.png"])
    _open_with_images(progress, old)
    copy = tmp_path / "copy"
    shutil.copytree(old, copy)
    resolution = naming.resolve(progress, copy, directory_hash(["a.png"]))
    assert resolution.adopted_from is None


def test_no_adoption_for_a_directory_without_images(tmp_path):
    progress = tmp_path / "progress"
    old = tmp_path / "old"
    old.mkdir()
    open_directory(progress, old, directory_hash([]))
    old.rmdir()
    resolution = naming.resolve(progress, tmp_path / "empty", directory_hash([]),
                                has_images=False)
    assert resolution.adopted_from is None


def test_moved_directory_with_the_same_base_name_is_adopted(tmp_path):
    progress = tmp_path / "progress"
    old = tmp_path / "a" / "x"
    touch_all(old, ["a.png"])
    path = _open_with_images(progress, old)
    new = tmp_path / "b" / "x"
    new.parent.mkdir()
    old.rename(new)
    resolution = naming.resolve(progress, new, directory_hash(["a.png"]))
    assert resolution.adopted_from == f"{old}/"
    assert resolution.source == path
    naming.adopt(resolution.source, resolution.path)
    assert resolution.path.exists()


def test_adopt_onto_itself_is_harmless(tmp_path):
    path = tmp_path / "x_progress.json"
    path.write_text("{}")
    naming.adopt(path, path)
    assert path.read_text() == "{}"


def test_adoption_interrupted_before_the_save_is_finished_in_place(tmp_path):
    """Adopted (renamed) but the daemon died before saving the new `directory`."""
    progress = tmp_path / "progress"
    touch_all(tmp_path / "a" / "x", ["a.png"])
    open_directory(progress, tmp_path / "b" / "x")  # takes the plain name x_progress.json
    old_path = _open_with_images(progress, tmp_path / "a" / "x")
    new = tmp_path / "c" / "x"
    new.parent.mkdir()
    (tmp_path / "a" / "x").rename(new)
    first = naming.resolve(progress, new, directory_hash(["a.png"]))
    assert first.source == old_path and first.path != old_path
    naming.adopt(first.source, first.path)
    again = naming.resolve(progress, new, directory_hash(["a.png"]))
    assert again.path == first.path and again.source == first.path
    assert again.adopted_from == f"{tmp_path}/a/x/"


def test_a_share_key_is_not_a_seed_relative_name(tmp_path):
    """A directory called `shoot` off the shares never takes `studio:clients/shoot/`'s file."""
    progress_dir = tmp_path / "progress"
    progress_dir.mkdir()
    theirs = progress_dir / "shoot_progress.json"
    theirs.write_bytes(model.encode(Progress(directory="studio:clients/shoot/")))
    local = tmp_path / "home" / "shoot"
    local.mkdir(parents=True)
    found = naming.resolve(progress_dir, canonical_directory(local))
    assert found.path != theirs and found.source is None


def test_a_share_directorys_reader_replays_the_journal_after_the_checkpoint(tmp_path):
    from core_helpers import ev

    from crop_progress.audit import AuditLog
    from crop_progress.recovery import caught_up

    checkpoint = Progress(directory="studio:shoot/", total_images=3,
                          completed_files=["a.png"], completed_count=1)
    log = AuditLog(tmp_path / "audit")
    log.append([ev("claim", "b.png", 1, directory="studio:shoot/", token=2),
                ev("crop", "b.png", 2, directory="studio:shoot/", token=2)])
    log.close()
    fresh, replayed = caught_up(checkpoint, tmp_path / "audit")
    assert replayed == 1
    assert fresh.completed_files == ["a.png", "b.png"]
