import os

import pytest

from xsweep import atomic


def test_write_bytes_replaces_whole_file(tmp_path):
    target = tmp_path / "f.bin"
    atomic.write_bytes(target, b"old")
    atomic.write_bytes(target, b"new contents")
    assert target.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "f.bin"
    atomic.write_bytes(target, b"old")
    with pytest.raises(RuntimeError), atomic.atomic_open(target) as f:
        f.write(b"half")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]


def test_temporary_names_are_recognised(tmp_path):
    tmp = atomic.temporary_path(tmp_path / "r.pkl")
    assert tmp.parent == tmp_path
    assert atomic.is_temporary(tmp.name)
    assert not atomic.is_temporary("r.pkl")


def test_link_exclusive_has_one_winner_and_never_a_partial_file(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    atomic.write_bytes(first, b"first")
    atomic.write_bytes(second, b"second")
    target = tmp_path / "claim"
    assert atomic.link_exclusive(first, target, b"first")
    assert not atomic.link_exclusive(second, target, b"second")
    assert target.read_bytes() == b"first"
    assert target.stat().st_ino == first.stat().st_ino
    assert sorted(os.listdir(tmp_path)) == ["claim", "first", "second"]
    with pytest.raises(FileNotFoundError):
        atomic.link_exclusive(tmp_path / "gone", tmp_path / "other")


def test_a_failed_link_is_told_apart_by_content_not_by_the_error(tmp_path):
    mine = tmp_path / "mine"
    atomic.write_bytes(mine, b"token-1 and the rest")
    target = tmp_path / "claim"
    os.link(mine, target)
    # a retried link after a reply lost on NFS fails with EEXIST, yet the
    # name is ours: its content says so
    assert atomic.link_exclusive(mine, target, b"token-1")
    assert not atomic.link_exclusive(mine, target, b"token-2")
    # a real EPERM (here: linking a directory), no such name: raised
    with pytest.raises(PermissionError):
        atomic.link_exclusive(tmp_path, tmp_path / "other", b"x")
