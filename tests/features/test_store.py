"""Outputs are written whole or not at all, and what a killed writer left is cleared by the next run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from creditgrade.features.store import atomic_file, atomic_folder, partial_path, sweep_partials


def _dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_writers_leftovers_are_swept_and_a_running_writers_are_kept(tmp_path):
    out = tmp_path / "graded.parquet"
    dead, running = _dead_pid(), os.getppid()
    leftovers = [
        tmp_path / f".graded.parquet.partial-{dead}",
        tmp_path / f".graded.parquet.2025-12-31.partial-{dead}",
        tmp_path / f".graded.parquet.old-{dead}",
    ]
    for path in leftovers[:2]:
        path.write_bytes(b"half a file")
    leftovers[2].mkdir()
    (leftovers[2] / "x").write_text("an interrupted swap")
    kept = [
        tmp_path / f".graded.parquet.partial-{running}",  # a writer still at work
        tmp_path / ".graded.parquet.notes",  # not a writer's name
        tmp_path / f".other.parquet.partial-{dead}",  # another output's
    ]
    for path in kept:
        path.write_bytes(b"keep")
    with atomic_file(out) as tmp:
        assert tmp == partial_path(out)
        tmp.write_bytes(b"whole")
    assert out.read_bytes() == b"whole"
    assert not any(p.exists() for p in leftovers)
    assert all(p.exists() for p in kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, *(p.name for p in kept)])


def test_a_failed_write_leaves_the_output_as_it_was_and_nothing_beside_it(tmp_path):
    out = tmp_path / "list.csv"
    out.write_text("before")
    with pytest.raises(RuntimeError), atomic_file(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("cut short")
    assert out.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["list.csv"]


def test_a_folder_left_half_written_by_a_killed_run_is_removed_by_the_next(tmp_path):
    out = tmp_path / "2025-12-31"
    stale = tmp_path / f".2025-12-31.partial-{_dead_pid()}-77-abc123"
    stale.mkdir()
    (stale / "graded.parquet").write_bytes(b"half")
    with atomic_folder(out) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-12-31"]
    assert sweep_partials(out) == []


def test_another_threads_write_in_this_process_is_kept_and_a_finished_threads_is_swept(tmp_path):
    import threading

    out, started, release = tmp_path / "audit.log.head", threading.Event(), threading.Event()
    ids = {}

    def writer():
        ids["tid"] = threading.get_native_id()
        started.set()
        release.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    started.wait(10)
    busy = tmp_path / f".audit.log.head.partial-{os.getpid()}-{ids['tid']}"
    busy.write_text("a head being written")
    try:
        assert sweep_partials(out) == [] and busy.exists()
    finally:
        release.set()
        thread.join()
    assert sweep_partials(out) == [busy]  # its thread has ended: a leftover
