"""Atomic state files: a crash at any step of a save leaves a loadable state."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from itb.telemetry.io.server import PumpServer
from itb.telemetry.io.store import StateStore, StateUnreadable, decode_state, encode_state

SERIAL = "ITB-0001"


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(SERIAL, {"n": 1})
    assert store.load(SERIAL) == {"n": 1}
    assert store.serials() == [SERIAL]
    assert (tmp_path / "pumps" / f"{SERIAL}.state").stat().st_mode & 0o077 == 0


def test_previous_good_copy_is_kept(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(SERIAL, {"n": 1})
    store.save(SERIAL, {"n": 2})
    prev = tmp_path / "pumps" / f"{SERIAL}.state.prev"
    assert decode_state(prev.read_bytes(), "prev") == {"n": 1}


def test_damaged_current_file_falls_back_to_the_previous(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(SERIAL, {"n": 1})
    store.save(SERIAL, {"n": 2})
    current = tmp_path / "pumps" / f"{SERIAL}.state"
    current.write_bytes(current.read_bytes()[:-3])  # a torn write
    assert store.load(SERIAL) == {"n": 1}


def test_both_copies_damaged_is_a_clear_error(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.save(SERIAL, {"n": 1})
    store.save(SERIAL, {"n": 2})
    for name in (f"{SERIAL}.state", f"{SERIAL}.state.prev"):
        (tmp_path / "pumps" / name).write_bytes(b"garbage")
    with pytest.raises(StateUnreadable, match="not an itb pump state file"):
        store.load(SERIAL)


@pytest.mark.parametrize("crash_at", ["fsync", "link", "replace-prev", "replace-current",
                                      "fsync-dir"])
def test_a_crash_at_any_step_leaves_the_old_or_the_new_state(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            crash_at: str) -> None:
    store = StateStore(tmp_path)
    store.save(SERIAL, {"n": 1})
    calls = {"replace": 0, "fsync": 0}
    real_replace, real_fsync, real_link = os.replace, os.fsync, os.link

    class Crash(Exception):
        pass

    def replace(a: object, b: object) -> None:
        calls["replace"] += 1
        if (crash_at == "replace-prev" and calls["replace"] == 1) or \
                (crash_at == "replace-current" and calls["replace"] == 2):
            raise Crash
        real_replace(a, b)  # type: ignore[arg-type]

    def fsync(fd: int) -> None:
        calls["fsync"] += 1
        if (crash_at == "fsync" and calls["fsync"] == 1) or \
                (crash_at == "fsync-dir" and calls["fsync"] == 2):
            raise Crash
        real_fsync(fd)

    def link(a: object, b: object) -> None:
        if crash_at == "link":
            raise Crash
        real_link(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "link", link)
    with pytest.raises(Crash):
        store.save(SERIAL, {"n": 2})
    monkeypatch.undo()
    assert store.load(SERIAL) in ({"n": 1}, {"n": 2})
    store.save(SERIAL, {"n": 3})  # and the next save works despite leftovers
    assert store.load(SERIAL) == {"n": 3}


def test_checksum_detects_a_changed_body() -> None:
    data = bytearray(encode_state({"volume_nl": 20_000_000}))
    data[-3] ^= 1
    with pytest.raises(StateUnreadable, match="checksum"):
        decode_state(bytes(data), "x")


@pytest.mark.parametrize("document", [
    {"n": 1},  # no format, key or pump
    {"format": 1, "pump_key": "zz", "pump": {}, "link_guard": {}, "security_log": {}},
    {"format": 1, "pump_key": "00" * 32, "pump": {"alarms": "x"}, "link_guard": {},
     "security_log": {}},
])
def test_a_checksummed_document_that_does_not_fit_is_skipped_with_one_warning_naming_the_file(
        tmp_path: Path, document: dict) -> None:
    # The checksum proves itb wrote it, not that it fits this version: never a traceback,
    # and the server skips it (issue 9.11) with one warning that names the file.
    store = StateStore(tmp_path)
    store.save(SERIAL, document)
    warnings: list[str] = []
    server = PumpServer(store, log=warnings.append)
    assert server.pumps == {} and list(server.skipped) == [SERIAL]
    assert len(warnings) == 1 and str(store.path(SERIAL)) in warnings[0]
    server.rescan()
    assert len(warnings) == 1  # a rescan does not warn again


def test_hellos_for_unknown_serials_do_not_rescan_an_unchanged_folder(tmp_path: Path) -> None:
    """A stream of HELLOs naming random serials costs a stat each, not a folder scan."""
    store = StateStore(tmp_path)
    store.save(SERIAL, {"n": 1})  # skipped (does not fit), so a rescan would re-read it
    now = [1000.0]
    warnings: list[str] = []
    server = PumpServer(store, clock=lambda: now[0], log=warnings.append)
    scans: list[int] = []
    original = server.rescan
    server.rescan = lambda: scans.append(1) or original()  # type: ignore[method-assign]
    for serial in ("X-1", "X-2", "X-3"):
        assert server._find_new(serial) is None
    assert scans == []
    now[0] += 1.0  # after a second the folder is looked at again, in case of a missed tick
    assert server._find_new("X-4") is None and scans == [1]
