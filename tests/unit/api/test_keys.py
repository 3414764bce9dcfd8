"""Device keys: only hashes are stored, checks are exact, the store survives a reload."""

from __future__ import annotations

import stat
from pathlib import Path

from civicpulse.api.ingest.keys import DeviceKeys, hash_key, new_key, verify_key


def test_hash_verifies_only_the_same_key() -> None:
    key = new_key()
    stored = hash_key(key)
    assert verify_key(key, stored)
    assert not verify_key(key + "x", stored)
    assert not verify_key(new_key(), stored)
    assert stored.hash != hash_key(key).hash  # per-key random salt


def test_store_keeps_hashes_only_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "device-keys.json"
    keys = DeviceKeys(path)
    key = keys.add("dev-1")
    assert len(key) >= 40
    text = path.read_text()
    assert key not in text and "dev-1" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    reloaded = DeviceKeys(path)
    assert reloaded.check("dev-1", key)
    assert reloaded.check("dev-1", key)  # second time from the verified cache
    assert not reloaded.check("dev-1", "wrong")
    assert not reloaded.check("dev-2", key)  # a key belongs to one device
    assert not reloaded.check("unknown", key)


def test_replace_and_revoke(tmp_path: Path) -> None:
    keys = DeviceKeys(tmp_path / "k.json")
    first = keys.add("dev-1")
    second = keys.add("dev-1")
    assert keys.check("dev-1", first) and keys.check("dev-1", second)
    third = keys.add("dev-1", replace=True)
    assert not keys.check("dev-1", first) and keys.check("dev-1", third)
    assert keys.revoke("dev-1")
    assert not keys.check("dev-1", third)
    assert not DeviceKeys(tmp_path / "k.json").check("dev-1", third)


def test_changes_made_by_another_process_reach_a_running_store(tmp_path: Path) -> None:
    # Two instances on one file stand for the CLI and a running API.
    path = tmp_path / "device-keys.json"
    api = DeviceKeys(path, recheck_seconds=0.0)
    cli = DeviceKeys(path)
    first = cli.add("dev-1")
    assert api.check("dev-1", first)  # added while the API runs: accepted
    assert api.check_cached("dev-1", first)
    assert cli.revoke("dev-1")
    assert not api.check_cached("dev-1", first)  # the verified cache forgets a revoked key
    assert not api.check("dev-1", first)
    second = cli.add("dev-1")
    third = DeviceKeys(path).add("dev-1", replace=True)
    assert not api.check("dev-1", second) and api.check("dev-1", third)
    assert DeviceKeys(path).devices() == ["dev-1"]


def test_recheck_interval_bounds_how_often_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "device-keys.json"
    api = DeviceKeys(path, recheck_seconds=3600.0)
    api.refresh()  # the first look is due at once; the next one not for an hour
    key = DeviceKeys(path).add("dev-1")
    assert not api.check("dev-1", key)
    api.recheck_seconds = 0.0
    assert api.check("dev-1", key)


def test_writes_are_atomic_and_private(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "device-keys.json"
    keys = DeviceKeys(path)
    keys.add("dev-1")
    keys.add("dev-2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["device-keys.json"]  # no temp left
