"""Finding an enterprise by name, from a file of the graded folder that the service maps (`names.arrow`).

Names starting with what was typed come first; when none does, the closest by edit distance. Chinese names are
matched character by character (`rapidfuzz`'s ratio on the names as written), so "前海科技" finds
深圳市前海某某科技有限公司 and a typo still finds the name. The city's own prefix (深圳市, 深圳) is ignored on both
sides.

The file is written with the month's lookup file (`serving.batch.write_graded_folder`) and holds each name
without the city's prefix twice: sorted, beside its row in the lookup file (the prefix search: a binary search
on the mapped strings), and in row order (the similarity scan, read a block at a time). A worker holds none of
it: its memory does not grow with the city (before, each worker built a list of every name at its first search:
a few hundred MB at 2.23 M enterprises).
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import weakref
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from creditgrade.features.store import atomic_file

NAMES = "names.arrow"
NAMES_OF = b"creditgrade.names_of"  # the metadata stamping the file with its table's identity
LIMIT = 20
FUZZY_CUTOFF = 70
CITY_PREFIXES = ("深圳市", "深圳")  # typed or not, a name search ignores the city's own prefix (the longer first)
BLOCK = 1 << 16  # names per block of the similarity scan: what a worker holds of them at once
USCC_LIKE = re.compile(r"^[0-9A-Za-z]{6,40}$")


def looks_like_uscc(q: str) -> bool:
    """A query meant as a USCC (checked as one, so a mistyped code gets the code's error, not a name search)."""
    return bool(USCC_LIKE.match(q)) and any(c.isdigit() for c in q)


def bare(name: str) -> str:
    """A name as the index holds it: without the city's prefix."""
    for p in CITY_PREFIXES:
        if name.startswith(p):
            return name[len(p) :]
    return name


def name_table(names: pa.Array | pa.ChunkedArray) -> pa.Table:
    """The index of `names` (the lookup file's `name` column, in row order): `sorted` and its `row`, then `bare`
    in row order. Sorting is stable, so equal names keep their rows' order."""
    prefix = "^(?:" + "|".join(map(re.escape, CITY_PREFIXES)) + ")"  # what `bare` strips, in Arrow's kernels
    plain = pc.replace_substring_regex(pc.fill_null(names, ""), prefix, "", max_replacements=1)
    order = pc.sort_indices(plain)
    return pa.table(
        {"sorted": pc.take(plain, order), "row": pc.cast(order, pa.int64()), "bare": plain}
    ).combine_chunks()


def identity(table: pa.Table) -> dict:
    """What tells one graded table from another (a lookup file's, or a `DatabaseStore`'s equivalent): its month,
    model, number of rows and first and last USCC. A name index is stamped with it and used only for it."""
    n = table.num_rows
    return {
        "as_of": str(table.column("as_of")[0]) if n else None,
        "model_version": table.column("model_version")[0].as_py() if n else None,
        "rows": n,
        "first": table.column("uscc")[0].as_py() if n else None,
        "last": table.column("uscc")[n - 1].as_py() if n else None,
    }


def write_names(names: pa.Array | pa.ChunkedArray, path: Path, of: dict) -> None:
    """The index of `names` written to `path` (uncompressed Arrow IPC, in blocks of BLOCK rows), stamped with the
    identity of the table the names are of (`identity`)."""
    table = name_table(names)
    table = table.replace_schema_metadata({NAMES_OF: json.dumps(of, sort_keys=True).encode()})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
        out.write_table(table, max_chunksize=BLOCK)


class NameIndex:
    """The name index of a graded folder, mapped (or, for a table given, held as it is)."""

    def __init__(self, table: pa.Table):
        self.table = table
        self._sorted = table.column("sorted")
        self._row = table.column("row")
        self._bare = table.column("bare")

    @classmethod
    def mapped(cls, path: Path) -> NameIndex:
        return cls(pa.ipc.open_file(pa.memory_map(str(path))).read_all())  # zero-copy: the map

    def of(self) -> dict | None:
        """The identity of the table the index was written for (None: a file written before it was stamped)."""
        stamp = (self.table.schema.metadata or {}).get(NAMES_OF)
        return json.loads(stamp) if stamp else None

    def __len__(self) -> int:
        return self.table.num_rows

    def search(self, q: str, limit: int = LIMIT) -> tuple[np.ndarray, int]:
        """(row positions, how many of them start with the query): names starting with the query, in name order;
        when there is none, the closest names, best first (equal scores in row order)."""
        key = bare(q.strip())
        start = bisect.bisect_left(range(len(self)), key, key=lambda i: self._sorted[i].as_py())  # in place
        hits = []
        for i in range(start, min(start + limit, len(self))):
            if not self._sorted[i].as_py().startswith(key):
                break
            hits.append(self._row[i].as_py())
        if hits:
            return np.array(hits, dtype=np.int64), len(hits)
        return self._closest(key, limit), 0

    def _closest(self, key: str, limit: int) -> np.ndarray:
        """The `limit` names most like `key` (scored at least FUZZY_CUTOFF), a block of names at a time: a linear
        scan. A whole name with a slip is scored on the whole name; a fragment
        ("前海科技") on its best-matching part."""
        scorer = fuzz.ratio if len(key) >= 5 else fuzz.partial_ratio
        rows, scores = [], []
        offset = 0
        for chunk in self._bare.chunks:
            for block in range(0, len(chunk), BLOCK):
                names = chunk.slice(block, BLOCK).to_pylist()
                score = process.cdist([key], names, scorer=scorer, processor=None, score_cutoff=FUZZY_CUTOFF)[0]
                close = np.flatnonzero(score >= FUZZY_CUTOFF)
                rows.append(close + offset + block)
                scores.append(score[close])
            offset += len(chunk)
        row, score = np.concatenate(rows or [np.empty(0, np.int64)]), np.concatenate(scores or [np.empty(0)])
        return row[np.lexsort((row, -score.astype(np.float64)))][:limit]


_INDEXES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def name_index(store) -> NameIndex:
    """The name index of a `GradedStore` (or a `DatabaseStore`): its folder's file, mapped at the first search. A
    folder graded before the file existed, or whose file is damaged or stamped as another table's (`identity`),
    gets it written again (whole or not at all); where the folder cannot be written to, or the store has
    no folder (a month served from the database on a machine without its files), the index is built in memory."""
    with _LOCK:
        index = _INDEXES.get(store)
        if index is None and store.folder is not None:
            path, of = Path(store.folder) / NAMES, store.identity()
            index = _mapped(path, of)
            if index is None:
                try:
                    with atomic_file(path) as tmp:
                        write_names(store.names(), tmp, of)
                    index = _mapped(path, of)
                except OSError:
                    pass
        if index is None:
            index = NameIndex(name_table(store.names()))
        _INDEXES[store] = index
        return index


def _mapped(path: Path, of: dict) -> NameIndex | None:
    """The mapped index at `path` if it is whole and stamped as the index of the table whose identity is `of`
    (a file copied from another month, or left by an earlier release, is not), else None."""
    try:
        index = NameIndex.mapped(path)
        return index if len(index) == of["rows"] and index.of() == of else None
    except (OSError, KeyError, ValueError, pa.ArrowInvalid):
        return None
