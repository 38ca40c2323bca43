"""The console's name search: answered from the graded folder's mapped name file, as a scan of every name would."""

from __future__ import annotations

import random

import pyarrow as pa
from rapidfuzz import fuzz

from creditgrade.serving import names as N

PARTS = ["前海", "南山", "福田", "宝安", "龙岗", "科技", "贸易", "实业", "电子", "物流", "咨询", "餐饮"]


def city(n: int, seed: int = 0) -> list[str | None]:
    """Names as a register holds them: with and without the city's prefix, repeated names, a missing one."""
    rng = random.Random(seed)
    out: list[str | None] = []
    for _ in range(n):
        body = "".join(rng.choice(PARTS) for _ in range(rng.randint(2, 4))) + rng.choice(["有限公司", "商行", ""])
        out.append(rng.choice(["深圳市", "深圳", ""]) + body)
    out[7] = None
    out[11] = out[3]
    return out


def scanned(names: list[str | None], q: str, limit: int = N.LIMIT) -> tuple[list[int], int]:
    """What the search must answer, worked out the slow way over every name."""
    key = N.bare(q.strip())
    bare = [N.bare(n or "") for n in names]
    prefix = sorted((b, i) for i, b in enumerate(bare) if b.startswith(key))[:limit]
    if prefix:
        return [i for _, i in prefix], len(prefix)
    scorer = fuzz.ratio if len(key) >= 5 else fuzz.partial_ratio
    scored = [(-s, i) for i, b in enumerate(bare) if (s := scorer(key, b)) >= N.FUZZY_CUTOFF]
    return [i for _, i in sorted(scored)[:limit]], 0


def test_the_index_answers_as_a_scan_of_every_name_would(tmp_path, monkeypatch):
    monkeypatch.setattr(N, "BLOCK", 97)  # the similarity scan goes through many blocks and chunks
    names = city(3000)
    N.write_names(pa.array(names, pa.string()), tmp_path / N.NAMES, {"rows": len(names)})
    index = N.NameIndex.mapped(tmp_path / N.NAMES)
    assert len(index) == 3000 and len(index.table.column("bare").chunks) > 1
    rng = random.Random(1)
    queries = ["前海科技", "深圳市南山", "深圳福田贸易", "科技", "没有这家", "", " 宝安 "]
    for name in rng.sample([n for n in names if n], 60):
        bare = N.bare(name)
        queries += [bare[:2], bare[:1] + "甲" + bare[2:], bare]
    for q in queries:
        positions, exact = index.search(q)
        assert (positions.tolist(), exact) == scanned(names, q), q


def test_the_file_is_written_with_the_graded_folder_and_mapped_not_read(graded_city):
    from creditgrade.serving.graded import GradedStore

    store = GradedStore(graded_city.latest)
    assert (graded_city.latest / N.NAMES).exists()
    before = pa.total_allocated_bytes()
    index = N.name_index(store)
    assert pa.total_allocated_bytes() - before < 1 << 16  # the names stay in the mapped file, not in the worker
    assert index.table.num_rows == len(store) and index is N.name_index(store)  # once per served table
    name = store.table.column("name")[5].as_py()
    positions, exact = index.search(name)
    assert 5 in positions.tolist() and exact == len(positions)


def test_a_folder_graded_before_the_file_gets_it_once_or_an_index_in_memory(graded_city, tmp_path, monkeypatch):
    import shutil

    from creditgrade.serving.graded import GradedStore

    folder = tmp_path / "graded"
    shutil.copytree(graded_city.latest, folder)
    (folder / N.NAMES).unlink()
    store = GradedStore(folder)
    index = N.name_index(store)
    assert (folder / N.NAMES).exists() and index.table.num_rows == len(store)
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # nothing half-written left

    of = store.identity()
    another_month = {**of, "as_of": "2025-11-30"}  # as many names, in a file copied from another month
    reversed_names = store.names().to_pylist()[::-1]
    for damaged in (b"", b"not an Arrow file", "one name", "another month", "unstamped"):
        if damaged == "one name":  # another, smaller table's
            N.write_names(pa.array(["深圳市甲公司"], pa.string()), folder / N.NAMES, {**of, "rows": 1})
        elif damaged == "another month":
            N.write_names(pa.array(reversed_names, pa.string()), folder / N.NAMES, another_month)
        elif damaged == "unstamped":  # left by the release before the stamp
            table = N.name_table(pa.array(reversed_names, pa.string()))
            with pa.OSFile(str(folder / N.NAMES), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                out.write_table(table)
        else:  # cut short by a crash, overwritten
            (folder / N.NAMES).write_bytes(damaged)
        store = GradedStore(folder)
        index = N.name_index(store)
        assert index.table.num_rows == len(store) and index.of() == of, damaged  # written again
        assert N.NameIndex.mapped(folder / N.NAMES).of() == of
        name = store.table.column("name")[5].as_py()
        assert 5 in index.search(name)[0].tolist()

    (folder / N.NAMES).unlink()

    def read_only(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(N, "atomic_file", read_only)  # a folder the service may not write to
    store = GradedStore(folder)
    positions, _ = N.name_index(store).search(store.table.column("name")[5].as_py())
    assert not (folder / N.NAMES).exists() and 5 in positions.tolist()


def test_an_empty_city_answers_nothing(tmp_path):
    N.write_names(pa.array([], pa.string()), tmp_path / N.NAMES, {"rows": 0})
    positions, exact = N.NameIndex.mapped(tmp_path / N.NAMES).search("前海")
    assert positions.size == 0 and exact == 0
