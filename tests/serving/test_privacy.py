"""A full demo run (`creditgrade demo`: simulate, ingest, features, train, two month-ends, an objection, a plan,
false registrations, the service asked over HTTP) is scanned for the simulated city's person identifiers —
legal representatives', shareholders' and phones' pseudonymous ids — in everything it printed and wrote:
its output, the server's log and audit log, the registry, every report, table, database and plot. Only the
data layer (the raw extract and the ingested tables) may hold them."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from creditgrade.features import contract as C

CLI = Path(sys.executable).parent / "creditgrade"
ENTERPRISES = int(os.environ.get("CREDITGRADE_PRIVACY_ENTERPRISES", "4000"))
PERSON_ID = re.compile(r"(?<![A-Za-z0-9])[A-Z]{1,2}\d{6,8}(?![0-9])")
DATA_LAYER = ("raw", "clean")
pytestmark = pytest.mark.slow


def person_ids(raw: Path) -> set[str]:
    """Every value of a column the contract marks as a person identifier (a USCC in a shareholder column is
    an enterprise's, not a person's)."""
    found: set[str] = set()
    for table in C.TABLES:
        columns = [c.name for c in table.columns if c.person_identifier]
        path = raw / f"{table.name}.parquet"
        if columns and path.exists():
            for column in pq.read_table(path, columns=columns).columns:
                found |= {v for v in column.to_pylist() if v and PERSON_ID.fullmatch(v)}
    return found


def texts(path: Path):
    """The text a file holds: tables' string columns, databases' rows, else its bytes."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        for name in table.column_names:
            if pa.types.is_string(table.schema.field(name).type) or pa.types.is_large_string(
                table.schema.field(name).type
            ):
                yield "\n".join(v for v in table.column(name).to_pylist() if v)
    elif path.suffix == ".duckdb":
        with duckdb.connect(str(path), read_only=True) as con:
            for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                for row in con.execute(f'SELECT CAST(t AS VARCHAR) FROM "{name}" t').fetchall():
                    yield row[0]
    elif path.suffix == ".db" and path.read_bytes()[:16] == b"SQLite format 3\x00":
        with sqlite3.connect(path) as con:
            yield "\n".join(con.iterdump())
    else:
        yield path.read_bytes().decode("utf-8", errors="replace")


def found_in(text: str, persons: set[str]) -> set[str]:
    return {m for m in PERSON_ID.findall(text) if m in persons}


def test_a_full_demo_run_shows_no_person_identifier_anywhere(tmp_path):
    home, log = tmp_path / "home", tmp_path / "server.log"
    out = home / "demo"
    env = {**os.environ, "CREDITGRADE_HOME": str(home), "CREDITGRADE_SERVER_LOG": str(log)}
    for inherited in ("CREDITGRADE_MLRUNS", "CREDITGRADE_AUDIT_LOG", "CREDITGRADE_API_KEYS", "CREDITGRADE_MONTHLY"):
        env.pop(inherited, None)
    done = subprocess.run(
        [str(CLI), "demo", "--enterprises", str(ENTERPRISES), "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    persons = person_ids(out / "raw")
    assert len(persons) > ENTERPRISES  # legal representatives, shareholders and phones
    # The scan finds them where they are meant to be: in the raw extract.
    assert found_in("\n".join(texts(out / "raw" / "enterprises.parquet")), persons)
    leaks: dict[str, set[str]] = {}
    scanned = 0
    for name, text in [("the demo's output", done.stdout + done.stderr), ("the server log", log.read_text())]:
        if hit := found_in(text, persons):
            leaks[name] = hit
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        if path.relative_to(out).parts[0] in DATA_LAYER if path.is_relative_to(out) else False:
            continue
        scanned += 1
        for text in texts(path):
            if hit := found_in(text, persons):
                leaks.setdefault(str(path.relative_to(home)), set()).update(hit)
    assert scanned > 50, scanned  # reports, tables, plots, the registry, the audit log
    assert not leaks, {k: sorted(v)[:5] for k, v in leaks.items()}
