"""Benchmark: a service worker's memory does not grow with the city (issue #18, part 4).

    .venv/bin/creditgrade demo --out data/demo          # a champion model and a graded month to serve
    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/service_memory.py --out data/bench_memory

Serves the demo's graded month (a 20,000-enterprise city) and graded months of 2.23 M and 10 M enterprises
synthesised from it: the demo's graded rows and indicator values repeated under new, valid, sorted USCCs,
written as the grading job writes the lookup file (`serving.batch.write_lookup`, in streamed batches; kept
under --out and reused). For each city the real server starts (2 workers, API key, audit log) and is driven
by an asyncio/aiohttp load generator on the same machine: lookups at 1 and 32 clients, what-ifs, and batch
lookups of 1,000 enterprises; then every worker's memory is read from /proc (psutil): RSS, and the
anonymous memory the worker holds itself (RssAnon) beside its file-backed pages (RssFile: its pages of the
mapped lookup file are page cache, shared by the workers, dropped by the kernel under pressure; USS would
count a page of the file as the worker's own whenever no other process has touched it). Targets: anonymous
memory per worker within 20% across the three cities; on the
10 M city lookup p99 ≤ 15 ms at 1 client and, at 32 clients, no worse than the 20 k city's; cold start to
ready printed for each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
from service_load import UNLIMITED, drive_calls  # benchmarks/ is the script's folder
from stdnum.cn import uscc as stdnum_uscc

from creditgrade.serving.auth import hash_key
from creditgrade.serving.batch import LOOKUP, LOOKUP_BATCH, LOOKUP_INDICATORS
from creditgrade.serving.graded import GradedStore, served_folder
from creditgrade.serving.launch import running_server

KEY = "bench-regulator-key"
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the USCC's characters, in byte order
WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])


def sorted_usccs(start: int, n: int) -> np.ndarray:
    """n valid USCCs, ascending, numbered from `start`: region 440300, a 9-character body counting in base 31,
    the GB 32100 check character computed (checked against python-stdnum on a sample)."""
    number = np.arange(start, start + n, dtype=np.int64)
    body = np.empty((n, 9), dtype=np.int64)
    for k in range(8, -1, -1):
        number, body[:, k] = np.divmod(number, 31)
    head = np.array([ALPHABET.index(c) for c in "91440300"])
    values = np.hstack([np.broadcast_to(head, (n, 8)), body])
    check = (31 - (values * WEIGHTS).sum(axis=1) % 31) % 31
    chars = np.array(list(ALPHABET))[np.hstack([values, check[:, None]])]
    codes = chars.view("<U18").ravel() if chars.flags.c_contiguous else np.ascontiguousarray(chars).view("<U18").ravel()
    for c in codes[:: max(n // 50, 1)]:
        assert stdnum_uscc.is_valid(str(c)), c
    return codes


def synthesise(source: Path, out: Path, n: int) -> Path:
    """A graded folder of n enterprises: the source's lookup rows repeated under new USCCs (streamed)."""
    folder = out / f"city-{n}" / "2025-12-31"
    if (folder / LOOKUP).exists():
        return folder
    store = GradedStore(source)
    table = store.table
    schema = table.schema
    assert LOOKUP_INDICATORS in schema.metadata
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / (LOOKUP + ".partial")
    t = time.perf_counter()
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for start in range(0, n, LOOKUP_BATCH):
            size = min(LOOKUP_BATCH, n - start)
            rows = table.take(pa.array((np.arange(start, start + size) * 7919) % table.num_rows))
            rows = rows.set_column(0, "uscc", pa.array(sorted_usccs(start, size), pa.string()))
            writer.write_table(rows.replace_schema_metadata(schema.metadata), max_chunksize=LOOKUP_BATCH)
    tmp.rename(folder / LOOKUP)
    size = (folder / LOOKUP).stat().st_size / 2**30
    print(f"  synthesised {n:,} enterprises in {time.perf_counter() - t:.0f} s ({size:.1f} GB)", flush=True)
    return folder


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.array(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def workers_memory(server: psutil.Process) -> list[dict]:
    """Memory (MB) of every process under the server, largest first: RSS, and its two parts from
    /proc/<pid>/status — anonymous memory (RssAnon: the heap and copies the process holds itself) and
    file-backed pages (RssFile: its mapped pages of the lookup file and libraries, page cache the kernel
    shares between the workers and can drop)."""
    out = []
    for p in server.children(recursive=True):
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{p.pid}/status").read_text().splitlines())
        except OSError:
            continue
        mb = {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "RssAnon", "RssFile")}
        out.append({"pid": p.pid, "rss": mb["VmRSS"], "anon": mb["RssAnon"], "file": mb["RssFile"]})
    return sorted(out, key=lambda m: -m["rss"])


def cached_share(path: Path) -> float | None:
    """The share of the file's bytes in the page cache now (util-linux `fincore`); None where it is missing."""
    try:
        done = subprocess.run(
            ["fincore", "--bytes", "--noheadings", "--output", "RES,SIZE", str(path)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    resident, size = (int(x) for x in done.stdout.split())
    return resident / size if size else 1.0


def measure(folder: Path, codes: list[str], a, env: dict) -> dict:
    headers = {"X-API-Key": KEY}
    cached = cached_share(folder / LOOKUP)
    print(
        f"    lookup file in the page cache before the start: {'?' if cached is None else f'{cached:.0%}'}", flush=True
    )
    procs: list[psutil.Process] = []
    start = time.perf_counter()
    with running_server(
        "--graded",
        str(folder),
        "--workers",
        str(a.workers),
        "--audit-log",
        str(a.out / "audit.log"),
        env=env,
        on_start=lambda proc: procs.append(psutil.Process(proc.pid)),
    ) as base:
        ready = time.perf_counter() - start
        one = [(f"{base}/v1/grade", {"uscc": c}) for c in codes]
        what = [
            (f"{base}/v1/explain", {"records": [{"uscc": c, "indicators": {"d3_penalties_12m": 1}}]})
            for c in codes[:2000]
        ]
        batches = [(f"{base}/v1/grades", {"usccs": codes[i : i + 1000]}) for i in range(0, 20000, 1000)]
        asyncio.run(drive_calls(one[:400], 4, 400, 30, headers))  # warm-up: every worker maps the file
        result = {"ready_s": ready, "cached_share": cached}
        for name, calls, clients, n in (
            ("lookup", one, 1, 3000),
            ("lookup", one, 32, 30000),
            ("explain", what, 1, 1000),
            ("batch1000", batches, 1, 60),
        ):
            r = asyncio.run(drive_calls(calls, clients, n, a.seconds, headers))
            p50, p99 = percentiles(r["latencies"])
            errors = sum(r["errors"].values())
            result[f"{name}@{clients}"] = {"rps": r["rps"], "p50": p50, "p99": p99, "errors": errors}
            print(
                f"    {name:<10} at {clients:>2} client(s): {len(r['latencies']):>6} req {r['rps']:7.1f} req/s  "
                f"p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  errors {errors}{' ' + str(r['errors']) if errors else ''}",
                flush=True,
            )
        memory = workers_memory(procs[0])[: a.workers]
        result["workers"] = memory
        print(
            "    workers: "
            + "; ".join(
                f"pid {m['pid']} anonymous {m['anon']:.0f} MB, file-backed {m['file']:.0f} MB, RSS {m['rss']:.0f} MB"
                for m in memory
            )
            + f"; ready after {ready:.1f} s",
            flush=True,
        )
    return result


IN_PROCESS = """
import random, sys, time
from pathlib import Path
import numpy as np
import pyarrow as pa
from creditgrade.serving.graded import GradedStore
folder, mode = Path(sys.argv[1]), sys.argv[2]
store = GradedStore(folder)
if mode == "copied":  # what each worker did before: the whole table read into its own memory
    with pa.OSFile(str(folder / "lookup.arrow")) as f:
        store.table = pa.ipc.open_file(f).read_all()
    store._chunks = store.table.column("uscc").chunks
    store._graded = store.table.drop_columns(list(store.indicator_names)).to_batches()
codes = [store.column("uscc", i) for i in random.Random(0).sample(range(len(store)), 2000)]
t = time.perf_counter()
for c in codes:
    store.rows(store.find([c])[0])
ms = (time.perf_counter() - t) / len(codes) * 1000
anon = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("RssAnon")) / 1024
print(f"{anon:.0f} {ms:.3f}")
"""


def in_process(folder: Path) -> dict:
    """Anonymous memory (MB) and time per lookup of one process serving 2,000 lookups from the folder, with the
    lookup file mapped (now) and read into the process's memory (each worker's copy, before)."""
    out = {}
    for mode in ("mapped", "copied"):
        done = subprocess.run([sys.executable, "-c", IN_PROCESS, str(folder), mode], capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        anon, ms = done.stdout.split()
        out[mode] = {"anon": float(anon), "ms": float(ms)}
    return out


def bench_arguments(description: str) -> argparse.ArgumentParser:
    """The arguments the service benchmarks share: where the synthesised cities are kept, the demo they are
    made from, the MLflow folder with its champion."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out", type=Path, default=Path("data/bench_memory"))
    p.add_argument("--demo", type=Path, default=Path("data/demo"), help="A `creditgrade demo` folder to serve.")
    p.add_argument("--mlruns", type=Path, default=Path("mlruns"), help="The demo's MLflow folder.")
    return p


def server_env(a: argparse.Namespace) -> dict[str, str]:
    """The served benchmark's settings: the champion's registry, a workflow and months folder of its own under
    --out, the benchmark's API key."""
    return {
        "CREDITGRADE_MLRUNS": str(a.mlruns.resolve()),
        "CREDITGRADE_MONTHLY": str((a.out / "monthly").resolve()),
        "CREDITGRADE_API_KEYS": f"bench:regulator:{hash_key(KEY)}",
        "CREDITGRADE_DATABASE_URL": f"sqlite:///{(a.out / 'workflow.db').resolve()}",
        **UNLIMITED,
    }


def loaded_database(server: str, folder: Path, n: int) -> tuple[str, float | None]:
    """The URL of a database holding the city's graded month (`serving.database.load_graded`), loaded once and
    kept with the cluster; the load's seconds when it was loaded now."""
    from creditgrade.serving.database import DatabaseStore, load_graded
    from creditgrade.serving.launch import new_database

    url = f"{server}/city_{n}"
    try:
        if len(DatabaseStore(url)) == n:
            return url, None
    except Exception:  # noqa: BLE001 - no such database yet, or an earlier load that did not finish
        pass
    url = new_database(server, f"city_{n}")
    from creditgrade.serving.database import connect

    t = time.perf_counter()
    with connect(url) as con:
        load_graded(con, folder)
    seconds = time.perf_counter() - t
    print(f"  loaded {n:,} enterprises into PostgreSQL in {seconds:.0f} s", flush=True)
    return url, seconds


def postgres_memory() -> float:
    """The PostgreSQL server's processes' summed RSS (MB; counts shared buffers more than once)."""
    total = 0
    for p in psutil.process_iter(["name", "memory_info"]):
        if p.info["name"] and p.info["name"].startswith("postgres") and p.info["memory_info"]:
            total += p.info["memory_info"].rss
    return total / 2**20


def main() -> None:
    p = bench_arguments(__doc__.splitlines()[0])
    p.add_argument("--cities", default="2230000,10000000", help="Synthesised city sizes, beside the demo's.")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument(
        "--lookups",
        choices=["files", "database"],
        default="files",
        help="Serve from the graded folder's mapped file, or from PostgreSQL (a local cluster kept in --pg).",
    )
    p.add_argument("--pg", type=Path, default=Path("/var/tmp/creditgrade-bench-pg"), help="The local cluster's folder.")
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    if a.lookups == "database":
        from creditgrade.serving.launch import local_postgres

        with local_postgres(a.pg, port=54329) as server:
            run(a, server)
    else:
        run(a, None)


def run(a: argparse.Namespace, server: str | None) -> None:
    demo = served_folder(a.demo / "graded", a.demo / "monthly")
    env = server_env(a)
    cities = {len(GradedStore(demo)): demo}
    for n in (int(c) for c in a.cities.split(",") if c):
        cities[n] = synthesise(demo, a.out, n)
    results = {}
    for n, folder in cities.items():
        if server is not None:
            url, load_s = loaded_database(server, folder, n)
            env = {**server_env(a), "CREDITGRADE_LOOKUPS": "database", "CREDITGRADE_DATABASE_URL": url}
        store = GradedStore(folder)
        codes = (
            store.table.column("uscc")
            .take(pa.array(random.Random(0).sample(range(len(store)), min(len(store), 20000))))
            .to_pylist()
        )
        del store
        print(f"city of {n:,} enterprises ({folder}):", flush=True)
        side = in_process(folder) if server is None else {}
        print(
            "    one process, 2,000 lookups: "
            + "; ".join(f"{k}: anonymous {v['anon']:.0f} MB, {v['ms']:.2f} ms a lookup" for k, v in side.items()),
            flush=True,
        )
        results[n] = {**measure(folder, codes, a, env), "in_process": side}
        if server is not None:
            results[n]["postgres_rss_mb"], results[n]["load_s"] = postgres_memory(), load_s
            print(f"    PostgreSQL's processes: {results[n]['postgres_rss_mb']:.0f} MB RSS (summed)", flush=True)
    anon = {n: max(m["anon"] for m in r["workers"]) for n, r in results.items()}
    low, high = min(anon.values()), max(anon.values())
    print(
        "largest worker's anonymous memory by city: "
        + ", ".join(f"{n:,}: {v:.0f} MB" for n, v in anon.items())
        + f"  (spread {high / low - 1:.1%}; target ≤ 20%)"
    )
    (a.out / "service_memory.json").write_text(json.dumps({str(n): r for n, r in results.items()}, indent=2))


if __name__ == "__main__":
    main()
