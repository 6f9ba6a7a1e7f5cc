"""Uploads to the Data pooling page: stewards only, private, gone after the load or an hour."""

from __future__ import annotations

import os
import stat
import time

import pytest

from analytics.identity import PUBLIC, Actor, PermissionDenied
from analytics.pooling import uploads

STEWARD = Actor("jiao", "data_steward", "教育局")


def test_anonymous_and_other_roles_cannot_upload(tmp_path):
    for actor in (PUBLIC, Actor("pat", "planner"), Actor("x@y.cn", "public")):
        with pytest.raises(PermissionDenied, match="may not upload files"):
            uploads.save(actor, b"a,b\n1,2\n", "x.csv", tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_stewards_upload_is_private_and_deleted_after_the_load(tmp_path):
    path = uploads.save(STEWARD, b"a,b\n1,2\n", "../../etc/passwd schools.csv", tmp_path)
    assert path.parent == tmp_path and path.name.endswith("passwd_schools.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    uploads.discard(path)
    assert not path.exists()


def test_uploads_older_than_an_hour_are_swept(tmp_path):
    old = uploads.save(STEWARD, b"old", "old.csv", tmp_path)
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    fresh = uploads.save(STEWARD, b"new", "new.csv", tmp_path)
    assert not old.exists() and fresh.exists()


def test_the_upload_folder_is_owner_only():
    assert stat.S_IMODE(uploads.folder().stat().st_mode) == 0o700
