"""Decoding limits: the msgpack shape check, the codec that uses it, and the depth
and size limits of a progress file."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crop_progress import store
from crop_protocol import messages as m
from crop_protocol.codec import (
    MAX_DEPTH,
    MAX_ELEMENTS,
    ProtocolError,
    decode_reply,
    decode_request,
    encode_reply,
    encode_request,
)
from crop_protocol.errors import ErrorCode
from crop_protocol.limits import ShapeError, check_shape

# Every msgpack format: ints of each width, floats, str/bin of each length class,
# ext types, nested maps and arrays of each header width.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**63, 2**64 - 1), st.floats(allow_nan=False),
    st.text(max_size=300), st.binary(max_size=70_000).filter(lambda b: len(b) < 300 or
                                                             len(b) > 65_535),
    st.builds(msgspec.msgpack.Ext, st.integers(0, 127),
              st.sampled_from([1, 2, 4, 8, 16, 3, 300, 70_000]).map(lambda n: b"x" * n)))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=20), st.dictionaries(st.text(max_size=5), inner, max_size=20)),
    max_leaves=60)


def depth_and_count(value: object) -> tuple[int, int]:
    """The reference: nesting depth (open non-empty containers) and number of values."""
    if isinstance(value, dict):
        parts = [depth_and_count(x) for kv in value.items() for x in kv]
    elif isinstance(value, list):
        parts = [depth_and_count(x) for x in value]
    else:
        return 0, 1
    if not parts:
        return 0, 1
    return 1 + max(d for d, _ in parts), 1 + sum(c for _, c in parts)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.integers(1, 8), st.integers(1, 200))
def test_check_shape_agrees_with_the_reference(value: object, max_depth: int,
                                               max_elements: int) -> None:
    data = msgspec.msgpack.encode(value)
    depth, count = depth_and_count(value)
    too_deep, too_many = depth > max_depth, count > max_elements
    if too_deep or too_many:
        with pytest.raises(ShapeError):
            check_shape(data, max_depth=max_depth, max_elements=max_elements)
    else:
        check_shape(data, max_depth=max_depth, max_elements=max_elements)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_check_shape_never_raises_on_garbage(data: bytes) -> None:
    with contextlib.suppress(ShapeError):  # anything else would fail the test
        check_shape(data, max_depth=4, max_elements=50)


def envelope_with(junk: bytes) -> bytes:
    """A valid Status request whose body carries an unknown field holding `junk`."""
    head = msgspec.msgpack.encode({"v": 1, "client": "c", "id": 9})
    body = b"\x82\xa4type\xa6Status\xa4junk" + junk
    return bytes([head[0] + 1]) + head[1:] + b"\xa4body" + body


def test_envelope_with_is_a_valid_request() -> None:
    assert isinstance(decode_request(envelope_with(b"\xc0")).body, m.Status)


@pytest.mark.parametrize("opener", [b"\x91", b"\x81\xa1k", b"\xdc\x00\x01", b"\xdd\x00\x00\x00\x01",
                                    b"\xde\x00\x01\xa1k"])
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_request_is_bad_message(opener: bytes, depth: int) -> None:
    """The issue's 1,038-byte request killed cropd with RecursionError."""
    with pytest.raises(ProtocolError) as err:
        decode_request(envelope_with(opener * depth + b"\xc0"))
    assert err.value.code is ErrorCode.BAD_MESSAGE
    assert f"deeper than {MAX_DEPTH}" in err.value.message


def test_request_just_within_the_depth_limit_decodes() -> None:
    # envelope (1) and body (2) are open around the junk field
    assert decode_request(envelope_with(b"\x91" * (MAX_DEPTH - 2) + b"\xc0"))
    with pytest.raises(ProtocolError):
        decode_request(envelope_with(b"\x91" * (MAX_DEPTH - 1) + b"\xc0"))


def test_too_many_values_is_bad_message() -> None:
    junk = b"\xdd" + (MAX_ELEMENTS).to_bytes(4, "big") + b"\x90" * MAX_ELEMENTS
    with pytest.raises(ProtocolError) as err:
        decode_request(envelope_with(junk))
    assert f"more than {MAX_ELEMENTS} values" in err.value.message


def test_a_large_real_claim_still_decodes() -> None:
    files = [f"img_{i:05d}.png" for i in range(20_000)]
    data = encode_request("c", 1, m.Claim(directory="/d/", files=files))
    assert decode_request(data).body.files == files


def test_any_decode_failure_is_a_protocol_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from crop_protocol import codec

    class Exploding:
        def decode(self, data: bytes) -> object:
            raise MemoryError("no room")

    monkeypatch.setattr(codec, "_request_decoder", Exploding())
    with pytest.raises(ProtocolError) as err:
        decode_request(encode_request("c", 1, m.Status()))
    assert err.value.code is ErrorCode.BAD_MESSAGE
    assert err.value.request_id == 1


def test_deep_reply_is_a_protocol_error() -> None:
    data = encode_reply(3, m.Ok())
    deep = bytes([data[0] + 1]) + data[1:] + b"\xa1x" + b"\x91" * 5000 + b"\xc0"
    with pytest.raises(ProtocolError):
        decode_reply(deep)


# -- progress files ------------------------------------------------------------------

def test_deep_progress_file_is_damaged() -> None:
    """The issue's file nested 5,000 deep gave 'internal error ... recursion depth'."""
    data = b'{"schema_version": 2, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(store.DamagedFileError, match="nests deeper than"):
        store.parse(data, source="f.json")


@pytest.mark.parametrize("text", [
    '{"schema_version": 2, "directory": "/a[[[[[[[[/", "completed_files": [%s]}',
    '{"schema_version": 2, "directory": "/a\\\\\\"[[[[/", "completed_files": [%s]}',
])
def test_brackets_inside_strings_do_not_count(text: str) -> None:
    names = ", ".join(f'"[{{x{i}"' for i in range(200))
    loaded = store.parse((text % names).encode(), source="f.json")
    assert len(loaded.progress.completed_files) == 200


def test_huge_progress_file_is_damaged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "MAX_FILE_SIZE", 1000)
    with pytest.raises(store.DamagedFileError, match="more than a progress file"):
        store.parse(b'{"schema_version": 2, "directory": "' + b"x" * 2000 + b'"}')


def test_deep_progress_file_is_recovered_by_the_daemon(tmp_path, daemon, progress_dir) -> None:
    """The issue: such a file gave 'internal error in Open: maximum recursion depth'."""
    from conftest import make_images

    from crop_client.session import Session
    from crop_client.work import Decision, Target, carry_out

    work = tmp_path / "nested"
    make_images(work, 3)
    with Session(daemon.endpoint, autostart=False) as session:
        target = Target.from_opened(session.open(work))
        carry_out(session, target, session.claim(target.directory, 1).items[0],
                  Decision("keep"))
    daemon.state.dirs.clear()  # as after a restart
    progress = progress_dir / "nested_progress.json"
    progress.write_bytes(b'{"schema_version": 2, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}")
    with Session(daemon.endpoint, autostart=False) as session:
        opened = session.open(work)
    assert opened.summary.completed_count == 1  # rebuilt from the journal
    assert any("nests deeper than" in note for note in opened.messages), opened.messages
    assert list(progress_dir.glob("nested_progress.json.corrupt-*"))
