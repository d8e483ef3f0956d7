"""trash: files go to the freedesktop trash through send2trash, we find where,
and an undo puts them back. Every trash here lives in a temporary folder: the
real home is never touched (XDG_DATA_HOME and HOME point into tmp_path)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
import send2trash
from PIL import Image

from crop_client import trash
from crop_client.trash import TrashError

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="freedesktop trash only"),
]


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_DATA_HOME (and HOME) on the same filesystem as the work files."""
    home = tmp_path / "home"
    data = home / ".local" / "share"
    data.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


@pytest.fixture
def work(tmp_path: Path, data_home: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    assert folder.stat().st_dev == data_home.stat().st_dev
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_image(folder: Path, name: str = "img_0001.png", colour: int = 40) -> list[Path]:
    """An image and its companions."""
    image = folder / name
    Image.new("RGB", (32, 24), (colour, 100, 200)).save(image)
    stem = image.stem
    yaml = folder / f"{stem}.yaml"
    yaml.write_text(f"prompt: a test {colour}\n")
    caption = folder / f"{stem}.caption"
    caption.write_bytes(b"a caption\r\nwith CRLF and no final newline")
    return [image, yaml, caption]


def trashinfo(trashed: str) -> Path:
    path = Path(trashed)
    return path.parent.parent / "info" / (path.name + ".trashinfo")


def test_trash_and_restore_round_trip(work: Path, data_home: Path) -> None:
    files = make_image(work)
    hashes = [sha256(p) for p in files]
    mtimes = [p.stat().st_mtime_ns for p in files]

    trashed = trash.trash(files)

    assert len(trashed) == 3
    for original, where in zip(files, trashed, strict=True):
        assert not original.exists()
        assert Path(where).parent == data_home / "Trash" / "files"
        assert Path(where).is_file()
        info = trashinfo(where).read_text()
        assert f"Path={quote(str(original))}" in info
        assert "DeletionDate=" in info
    assert [sha256(Path(t)) for t in trashed] == hashes

    for original, where in zip(files, trashed, strict=True):
        trash.restore(original, where)

    assert [sha256(p) for p in files] == hashes
    assert [p.stat().st_mtime_ns for p in files] == mtimes
    assert not any(Path(t).exists() for t in trashed)
    assert not any(trashinfo(t).exists() for t in trashed)
    assert list((data_home / "Trash" / "files").iterdir()) == []
    assert list((data_home / "Trash" / "info").iterdir()) == []


def test_same_name_trashed_twice_gives_the_newest(work: Path) -> None:
    first = make_image(work, colour=10)[0]
    first_hash = sha256(first)
    (where_first,) = trash.trash([first])
    # The clock went back since (or the second came within the same second):
    # the deletion date alone cannot tell which entry is the new one.
    info = trashinfo(where_first)
    info.write_text(
        info.read_text().replace("DeletionDate=", "DeletionDate=2099-01-01T00:00:00\n#")
    )
    second = make_image(work, colour=200)[0]
    second_hash = sha256(second)

    (where_second,) = trash.trash([second])

    assert where_first != where_second
    assert sha256(Path(where_first)) == first_hash
    assert sha256(Path(where_second)) == second_hash
    # Undo the last delete first, as an undo stack does.
    trash.restore(second, where_second)
    assert sha256(second) == second_hash
    assert Path(where_first).exists()


def test_a_stale_entry_for_the_same_path_is_not_picked(work: Path, data_home: Path) -> None:
    image = make_image(work)[0]
    files, info = data_home / "Trash" / "files", data_home / "Trash" / "info"
    files.mkdir(parents=True)
    info.mkdir(parents=True)
    # An entry from long ago for the same path, with a later-sorting name.
    (files / "img_0001 9.png").write_bytes(b"an old deletion")
    (info / "img_0001 9.png.trashinfo").write_text(
        f"[Trash Info]\nPath={quote(str(image))}\nDeletionDate=2001-01-01T00:00:00\n"
    )

    (where,) = trash.trash([image])

    assert Path(where).name == "img_0001.png"
    assert Path(where).read_bytes()[:4] == b"\x89PNG"


def test_names_that_need_quoting(work: Path) -> None:
    odd = work / "my image ä #1 %20.png"
    Image.new("L", (4, 4), 9).save(odd)
    digest = sha256(odd)

    (where,) = trash.trash([odd])

    assert where
    assert "%20" in trashinfo(where).read_text()  # the space, and the literal % quoted
    trash.restore(odd, where)
    assert sha256(odd) == digest


def test_restore_refuses_to_overwrite(work: Path) -> None:
    image = make_image(work)[0]
    (where,) = trash.trash([image])
    image.write_bytes(b"a new file with the same name")

    with pytest.raises(TrashError, match="already exists"):
        trash.restore(image, where)

    assert image.read_bytes() == b"a new file with the same name"
    assert Path(where).exists()
    assert trashinfo(where).exists()


def test_restore_refuses_when_the_trashed_file_is_gone(work: Path) -> None:
    image = make_image(work)[0]
    (where,) = trash.trash([image])
    Path(where).unlink()  # the trash was emptied

    with pytest.raises(TrashError, match="no longer in the trash"):
        trash.restore(image, where)
    assert not image.exists()


def test_restore_needs_to_know_where_it_went(work: Path) -> None:
    with pytest.raises(TrashError, match="restore it from the Trash yourself"):
        trash.restore(work / "a.png", "")
    with pytest.raises(TrashError, match="not in a trash folder"):
        trash.restore(work / "a.png", str(work / "elsewhere" / "a.png"))


def test_restore_recreates_a_removed_folder(work: Path) -> None:
    sub = work / "sub"
    sub.mkdir()
    image = make_image(sub)[0]
    digest = sha256(image)
    (where,) = trash.trash([image])
    for leftover in sub.iterdir():
        leftover.unlink()
    sub.rmdir()

    trash.restore(image, where)

    assert sha256(image) == digest


def test_trash_of_a_missing_file_says_which(work: Path) -> None:
    good = make_image(work)[0]
    missing = work / "never_there.png"

    with pytest.raises(TrashError, match=r"never_there\.png") as caught:
        trash.trash([good, missing])

    assert not good.exists()
    assert len(caught.value.trashed) == 1
    assert Path(caught.value.trashed[0]).exists()


def test_send2trash_follows_the_current_environment(
    work: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # send2trash reads XDG_DATA_HOME once, at import: a later change must still count.
    moved = tmp_path / "home" / "elsewhere"
    moved.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(moved))
    image = make_image(work)[0]

    (where,) = trash.trash([image])

    assert Path(where).parent == moved / "Trash" / "files"
    assert Path(where).exists()


def test_top_directory_trash_is_found(
    tmp_path: Path, data_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file on another filesystem goes to $topdir/.Trash-$uid, with a relative Path=."""
    from send2trash import plat_other

    volume = tmp_path / "volume"
    (volume / "photos").mkdir(parents=True)
    image = make_image(volume / "photos")[0]
    digest = sha256(image)
    inside = str(volume.resolve())

    def device(path: object) -> int:
        return 7 if os.fsdecode(os.path.realpath(path)).startswith(inside) else 3  # type: ignore[arg-type]

    monkeypatch.setattr(plat_other, "get_dev", device)
    monkeypatch.setattr(plat_other, "find_mount_point", lambda path: os.fsencode(volume))
    monkeypatch.setattr(trash, "_mount_point", lambda path: volume)

    (where,) = trash.trash([image])

    top_trash = volume / f".Trash-{os.getuid()}"
    assert Path(where) == top_trash / "files" / "img_0001.png"
    assert "Path=photos/img_0001.png" in trashinfo(where).read_text()
    assert not (data_home / "Trash").exists()
    trash.restore(image, where)
    assert sha256(image) == digest
    assert not trashinfo(where).exists()


def test_other_platforms_cannot_restore(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert trash.can_restore()
    image = make_image(work)[0]
    sent: list[str] = []
    monkeypatch.setattr(send2trash, "send2trash", lambda path: sent.append(path))
    monkeypatch.setattr(sys, "platform", "darwin")

    assert not trash.can_restore()
    assert trash.trash([image]) == [""]
    assert sent == [str(image)]
    with pytest.raises(TrashError) as caught:
        trash.restore(image, "/somewhere/Trash/files/img_0001.png")
    assert str(caught.value) == (
        "undo of a delete is not possible on this platform: restore it from the Trash yourself"
    )


def test_a_same_named_file_trashed_elsewhere_at_once_is_not_confused(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other_folder = work.parent / "other"
    other_folder.mkdir()
    other = make_image(other_folder, colour=250)[0]
    mine = make_image(work, colour=5)[0]
    digest = sha256(mine)
    real = send2trash.send2trash

    def with_a_neighbour(path: str) -> None:
        real(path)
        real(str(other))  # another window deletes its own img_0001.png meanwhile

    monkeypatch.setattr(send2trash, "send2trash", with_a_neighbour)
    (where,) = trash.trash([mine])

    assert sha256(Path(where)) == digest
