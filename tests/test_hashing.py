"""Inputs are hashed ahead, on a thread, and the hash taken up is always the file's current one."""

from __future__ import annotations

import os

import pytest

from cracks.hashing import file_sha256, hash_ahead, input_sha256


def test_a_hash_started_ahead_is_the_files(tmp_path):
    path = tmp_path / "site.tif"
    path.write_bytes(os.urandom(3 << 20))
    hash_ahead(path)
    hash_ahead(path)  # once is enough: the second call finds it started
    assert input_sha256(path) == file_sha256(path)
    assert input_sha256(path) == file_sha256(path)  # taken up once, then computed again


def test_a_file_changed_after_hashing_ahead_is_hashed_again(tmp_path):
    path = tmp_path / "site.tif"
    path.write_bytes(b"first survey")
    hash_ahead(path)
    path.write_bytes(b"a later survey, written over it")  # another size, another modification time
    assert input_sha256(path) == file_sha256(path)


def test_a_missing_input_is_left_to_the_plan(tmp_path):
    hash_ahead(tmp_path / "missing.tif")  # nothing to report here
    with pytest.raises(FileNotFoundError):
        input_sha256(tmp_path / "missing.tif")
