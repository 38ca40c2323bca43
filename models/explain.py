"""Exact SHAP contributions for the whole city, dimension sub-scores and reason codes.

TreeSHAP's contribution of one tree to one enterprise depends only on which way the enterprise
would go at each of that tree's splits — not on the values themselves. So for every tree the
enterprises are grouped by that pattern of decisions (the 257 trees of the full-city model have about
2,300 patterns each among 2.23 M enterprises), LightGBM's own exact TreeSHAP (`pred_contrib`) is run
once per pattern on one representative, and the result is added back to every enterprise with it. Every
number is what `shap.TreeExplainer` gives on the same model and rows (checked in the tests); nothing
is approximated.

Grouping whole indicator vectors instead does not help: on the simulated city 96.6% of enterprises
have a vector no other enterprise shares between the same split thresholds, because age, capital and
the financial ratios take continuous values (see docs/explanations.md).

Contributions are in the trees' log-odds. Through the Platt calibration (calibrated log-odds =
a·margin + b) and the model's odds scale (pdo points per doubling of the odds, `models/scaling.Scale`)
they become score points: `points = -pdo / ln 2 · a · contribution`, so the five dimension sub-scores add
up, with the base score, to the enterprise's unclipped (raw) score.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)

from creditgrade.features import catalog

if TYPE_CHECKING:  # LightGBM is imported where a booster is trained or loaded, not by everything that explains
    import lightgbm as lgb

Progress = Callable[[str, int, int], None]
NUMBA_THREADS: int = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]  # set at import
MAX_SPLITS = 20  # a tree's decision pattern indexes a table of 2^splits entries (and fits 32 bits)
FEW_ROWS = 5_000  # below this LightGBM's row-by-row TreeSHAP is quicker than grouping by pattern
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2
K_ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass(frozen=True)
class Tree:
    """One tree's internal nodes, in any fixed order: split feature, threshold, missing handling."""

    feature: np.ndarray  # int64
    threshold: np.ndarray  # float64
    default_left: np.ndarray  # bool
    missing: np.ndarray  # int8: MISSING_NONE / ZERO / NAN

    @property
    def features(self) -> np.ndarray:
        return np.unique(self.feature)


def parse_trees(booster: lgb.Booster, num_iteration: int | None = None) -> list[Tree]:
    """The internal nodes of every tree of a binary LightGBM model (numerical splits only)."""
    dump = booster.dump_model(num_iteration=num_iteration)
    trees = []
    for info in dump["tree_info"]:
        rows: list[tuple] = []
        stack = [info["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_feature" not in node:
                continue
            if node["decision_type"] != "<=":
                raise ValueError(
                    f"tree {info['tree_index']}: only numerical splits are supported, got {node['decision_type']!r}"
                )
            rows.append(
                (
                    node["split_feature"],
                    float(node["threshold"]),
                    bool(node["default_left"]),
                    {"None": MISSING_NONE, "Zero": MISSING_ZERO, "NaN": MISSING_NAN}[node["missing_type"]],
                )
            )
            stack += [node["left_child"], node["right_child"]]
        f, t, d, m = zip(*rows) if rows else ((), (), (), ())
        trees.append(
            Tree(
                np.array(f, dtype=np.int64),
                np.array(t, dtype=np.float64),
                np.array(d, dtype=np.bool_),
                np.array(m, dtype=np.int8),
            )
        )
    return trees


BLOCK = 2048  # rows per block of a parallel loop


@numba.njit(parallel=True, cache=True)
def _transpose(x, xt):  # pragma: no cover - compiled
    """xt = x.T, in parallel blocks (numpy's strided copy is single-threaded and slow)."""
    n, f = x.shape
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
        for j in range(f):
            for r in range(lo, hi):
                xt[j, r] = x[r, j]


@numba.njit(parallel=True, cache=True)
def _patterns(xt, feature, threshold, default_left, missing, out, seen):  # pragma: no cover - compiled
    """out[r] = the bits 'goes left' of row r at each node of one tree, as LightGBM's NumericalDecision
    decides; seen[thread, pattern] = some row with that pattern (any will do).

    `xt` is column-major (features × rows): the tree reads only its own features' columns, a block of
    rows at a time, so that the inner loop runs over contiguous values and vectorises.
    """
    n = xt.shape[1]
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
        mine = seen[numba.get_thread_id()]
        acc = np.zeros(hi - lo, dtype=np.uint32)
        for i in range(feature.shape[0]):
            col, t, m = xt[feature[i]], threshold[i], missing[i]
            bit = np.uint32(1) << np.uint32(i)
            # where a missing value goes: the default side (NaN split), or as 0.0 (no missing in training)
            nan_left = default_left[i] if m == MISSING_NAN else 0.0 <= t
            if m == MISSING_ZERO:  # zero counts as missing (zero_as_missing): rare, so a plain loop
                for r in range(lo, hi):
                    v = col[r]
                    if np.isnan(v) or abs(v) <= K_ZERO:
                        left = default_left[i]
                    else:
                        left = v <= t
                    if left:
                        acc[r - lo] |= bit
                continue
            part = col[lo:hi]
            for r in range(hi - lo):  # branch-free, so that it vectorises
                v = part[r]
                acc[r] |= bit * np.uint32((v <= t) | ((v != v) & nan_left))
        for r in range(hi - lo):
            out[lo + r] = acc[r]
            if mine[acc[r]] < 0:
                mine[acc[r]] = lo + r


@numba.njit(parallel=True, cache=True)
def _add_table(phi_t, patterns, slot, table_t, columns):  # pragma: no cover - compiled
    """phi_t[columns[j], r] += table_t[j, slot[patterns[r]]] for every row r (phi_t column-major)."""
    n = phi_t.shape[1]
    for b in numba.prange((n + BLOCK - 1) // BLOCK):
        lo, hi = b * BLOCK, min(n, (b + 1) * BLOCK)
        g = np.empty(hi - lo, dtype=np.int64)
        for r in range(hi - lo):
            g[r] = slot[patterns[lo + r]]
        for j in range(columns.shape[0]):
            col, tab = phi_t[columns[j], lo:hi], table_t[j]
            for r in range(hi - lo):
                col[r] += tab[g[r]]


def split_points(trees: list[Tree], n_features: int) -> list[tuple[np.ndarray, bool]]:
    """Per indicator: every threshold any tree splits it at (sorted), and whether some split treats zero as
    missing."""
    found: list[list[np.ndarray]] = [[] for _ in range(n_features)]
    zero = np.zeros(n_features, dtype=bool)
    for tree in trees:
        for j in np.unique(tree.feature):
            at = tree.feature == j
            found[j].append(tree.threshold[at])
            zero[j] |= bool((tree.missing[at] == MISSING_ZERO).any())
    return [(np.unique(np.concatenate(f)) if f else np.empty(0), bool(z)) for f, z in zip(found, zero)]


def model_view(points: list[tuple[np.ndarray, bool]], x: np.ndarray) -> np.ndarray:
    """Per row, a 128-bit digest (two uint64) of the row as the model sees it: for every indicator some tree
    splits, which of its split points the value lies between, and whether it is missing (or zero, where a split
    treats zero as missing). Two rows with the same view take the same side of every split of every tree, so
    their exact TreeSHAP contributions and prediction are the same to the bit; different views may still agree
    (the digest says "same" for different views only by a collision of two independent 64-bit mixes). The
    indicators' bins are packed into 64-bit words exactly (each in as few bits as its bins need), and the words
    mixed: a few mixes a row, not two per indicator."""
    n, f = x.shape
    thresholds = np.concatenate([t for t, _ in points]) if points else np.empty(0)
    bounds = np.concatenate([[0], np.cumsum([len(t) for t, _ in points])]).astype(np.int64)
    zero = np.array([z for _, z in points], dtype=np.bool_)
    # a bin is 1 (zero as missing), 2 (missing) or 3 + the split points below the value: len(t) + 4 values
    bits = np.array([int(len(t) + 3).bit_length() if len(t) else 0 for t, _ in points], dtype=np.int64)
    out = np.empty((n, 2), dtype=np.uint64)
    _digest(np.ascontiguousarray(x, dtype=np.float64), thresholds, bounds, zero, bits, out)
    return out


@numba.njit(cache=True)
def _mix(z):  # pragma: no cover - compiled  (splitmix64's finaliser)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def _mixed(a, b, word, at):  # pragma: no cover - compiled
    """Two running digests with one more packed word (`at`: the word's place in the row)."""
    position = np.uint64(at)
    a = _mix(a ^ (word + position * np.uint64(0x632BE59BD9B4E019)))
    b = _mix(b ^ (word * np.uint64(0x8CB92BA72F3D8DD7) + position))
    return a, b


@numba.njit(parallel=True, cache=True)
def _digest(x, thresholds, bounds, zero, bits, out):  # pragma: no cover - compiled
    """out[r] = two 64-bit mixes of row r's bins packed into words: per indicator j some tree splits (bits[j] >
    0), the number of its split points below the value plus 3 (side left: v <= t ⟺ t at or after it), 2
    missing, 1 zero where zero is missing."""
    for r in numba.prange(x.shape[0]):
        a, b = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xD1B54A32D192ED03)
        word, used, words = np.uint64(0), 0, 0
        for j in range(x.shape[1]):
            if bits[j] == 0:
                continue
            v = x[r, j]
            if np.isnan(v):
                k = 2
            elif zero[j] and abs(v) <= K_ZERO:
                k = 1
            else:  # the split points below v, by bisection (searchsorted, side left)
                low, high = bounds[j], bounds[j + 1]
                while low < high:
                    middle = (low + high) >> 1
                    if thresholds[middle] < v:
                        low = middle + 1
                    else:
                        high = middle
                k = 3 + low - bounds[j]
            if used + bits[j] > 64:
                a, b = _mixed(a, b, word, words)
                word, used, words = np.uint64(0), 0, words + 1
            word |= np.uint64(k) << np.uint64(used)
            used += bits[j]
        a, b = _mixed(a, b, word, words)
        out[r, 0], out[r, 1] = a, b


class CityExplainer:
    """Exact TreeSHAP of a LightGBM binary model for many rows, one decision pattern per tree at a time.

    `contributions(x)` returns (n × features) log-odds contributions and the expected value, exactly
    as `booster.predict(x, pred_contrib=True)` and `shap.TreeExplainer(booster)` would. Tree by tree:
    find every row's pattern (and one row per pattern), explain those rows with LightGBM and that tree
    alone, add the result to every row with the pattern.
    """

    def __init__(self, booster: lgb.Booster, num_threads: int | None = None, few_rows: int = FEW_ROWS):
        self.booster = booster
        self.few_rows = few_rows
        self.num_threads = num_threads or os.cpu_count() or 1
        self.n_features = booster.num_feature()
        self._trees: list[Tree] | None = None
        self.patterns_: list[int] = []

    def model_view(self, x: np.ndarray) -> np.ndarray:
        """Each row's digest as the model sees it (`model_view`): equal digests, equal explanations."""
        if getattr(self, "_split_points", None) is None:
            self._split_points = split_points(self.trees, self.n_features)
        return model_view(self._split_points, np.asarray(x, dtype=np.float64))

    @property
    def trees(self) -> list[Tree]:
        """The parsed trees (only needed for many rows: parsing a big model takes a moment)."""
        if self._trees is None:
            self._trees = parse_trees(self.booster)
        return self._trees

    def contributions(
        self, x, progress: Progress | None = None, few_rows: int | None = None
    ) -> tuple[np.ndarray, float]:
        """`few_rows=0` explains even a few rows pattern by pattern, exactly as they would be in a city."""
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected a 2-d array with {self.n_features} indicator columns; got shape {x.shape}")
        trees = self.trees if len(x) >= (self.few_rows if few_rows is None else few_rows) else []
        if not trees or max(t.feature.size for t in trees) > MAX_SPLITS:
            # few rows, or trees too big for a pattern table: LightGBM's own TreeSHAP row by row
            full = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=self.num_threads))
            return full[:, :-1], (float(full[0, -1]) if len(full) else 0.0)
        threads = min(self.num_threads, NUMBA_THREADS)
        numba.set_num_threads(threads)
        n = x.shape[0]
        xt = np.empty((self.n_features, n))
        _transpose(x, xt)
        phi_t = np.zeros((self.n_features, n))
        patterns = np.empty(n, dtype=np.uint32)
        expected = 0.0
        self.patterns_ = []
        for t, tree in enumerate(trees):
            seen = np.full((NUMBA_THREADS, 1 << tree.feature.size), -1, dtype=np.int64)
            _patterns(xt, tree.feature, tree.threshold, tree.default_left, tree.missing, patterns, seen)
            seen = seen.max(axis=0)
            present = np.flatnonzero(seen >= 0)
            table = np.asarray(
                self.booster.predict(
                    x[seen[present]],
                    start_iteration=t,
                    num_iteration=1,
                    pred_contrib=True,
                    num_threads=self.num_threads,
                )
            )
            expected += float(table[0, -1])
            slot = np.zeros(seen.size, dtype=np.int64)
            slot[present] = np.arange(present.size)
            cols = tree.features
            _add_table(phi_t, patterns, slot, np.ascontiguousarray(table[:, cols].T), cols)
            self.patterns_.append(int(present.size))
            if progress:
                progress("explain", t + 1, len(trees))
        return phi_t.T, expected  # a view: rows × features


# -- from contributions to what a regulator reads -------------------------------------------------


def row_sums(phi: np.ndarray, columns=None) -> np.ndarray:
    """Each row's sum of its contributions (of `columns`, default all), added column by column: the same
    order for one row as for a city, whatever the array's layout, so a row's total is the same to the bit
    however many rows it was explained with (numpy's `sum` would sum one row pairwise)."""
    total = np.zeros(phi.shape[0])
    for j in range(phi.shape[1]) if columns is None else columns:
        total += phi[:, j]
    return total


def dimension_points(phi: np.ndarray, features: tuple[str, ...], per_logodds: float) -> pd.DataFrame:
    """Each dimension's sub-score in score points (positive: the dimension raises the credit score)."""
    dims = np.array([catalog.BY_ID[f].dimension for f in features])
    return pd.DataFrame(
        {
            d.id: row_sums(phi, np.flatnonzero(dims == d.id)) * per_logodds
            for d in catalog.DIMENSIONS
            if (dims == d.id).any()
        }
    )


REASON_TYPE = pa.list_(
    pa.struct(
        [
            ("indicator", pa.string()),
            ("value", pa.float64()),
            ("points", pa.float64()),
            ("zh", pa.string()),
            ("en", pa.string()),
        ]
    )
)
# The same reasons as they are built: indicator and texts dictionary-encoded (a city's 11 M reasons read a few
# tens of thousands of distinct texts), so that reusing last month's moves integers, not strings. A graded table
# holds them plain (`plain`).
ENCODED = pa.dictionary(pa.int32(), pa.string())
REASON_ENCODED = pa.list_(
    pa.struct([(f.name, ENCODED if f.type == pa.string() else f.type) for f in REASON_TYPE.value_type])
)


REASON_CHUNK = 250_000  # rows per step (bounds the temporaries of ranking 63 contributions per row)


def plain(reasons: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Reasons with their strings plain (`REASON_TYPE`), as a graded table holds them."""
    return reasons.cast(REASON_TYPE)


def top_reasons(
    phi: np.ndarray, values: np.ndarray, features: tuple[str, ...], per_logodds: float, k: int = 5
) -> pa.ChunkedArray:
    """Per row, the k indicators with the largest contributions (by size), risk-raising first, each
    rendered from the catalog's templates with the enterprise's value, in Chinese and English.

    Returns an Arrow list of structs (indicator, value, points, zh, en; strings dictionary-encoded,
    `REASON_ENCODED`); indicators whose contribution is exactly zero are left out. Texts are formatted
    once per distinct (indicator, value) and chunk.
    """
    n = phi.shape[0]
    parts = []
    for i in range(0, max(n, 1), REASON_CHUNK):
        offsets, ind, value, contribution = top(np.ascontiguousarray(phi[i : i + REASON_CHUNK]), values[i:], k)
        struct = _reason_structs(ind, value, contribution * per_logodds, features)
        parts.append(pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), struct))
    return pa.chunked_array(parts, type=REASON_ENCODED)


def top(phi: np.ndarray, values: np.ndarray, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row of `phi`, its k largest contributions by size, risk-raising first, zeros left out, as flat
    arrays: row offsets (n + 1), indicator positions, the row's values of them (from `values`, row-aligned
    with `phi`), and the contributions."""
    n, f = phi.shape
    k = min(k, f)
    if n == 0 or k == 0:
        return np.zeros(n + 1, dtype=np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0)
    best = np.argpartition(-np.abs(phi), k - 1, axis=1)[:, :k]
    contribution = np.take_along_axis(phi, best, axis=1)
    order = np.argsort(-contribution, axis=1, kind="stable")
    best, contribution = np.take_along_axis(best, order, axis=1), np.take_along_axis(contribution, order, axis=1)
    keep = contribution != 0.0
    row = np.broadcast_to(np.arange(n)[:, None], best.shape)[keep]
    ind = best[keep]
    offsets = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    return offsets, ind, values[row, ind], contribution[keep]


def _rendered(ind: np.ndarray, value: np.ndarray, features: tuple[str, ...]) -> tuple[np.ndarray, list, list]:
    """The texts of reasons (indicator positions and values) from the catalog's templates: each reason's text
    number and the texts in zh and en, formatted once per distinct (indicator, value)."""
    text_index = np.empty(ind.size, dtype=np.int32)
    texts_zh: list[str] = []
    texts_en: list[str] = []
    by_indicator = np.argsort(ind, kind="stable")
    bounds = np.searchsorted(ind[by_indicator], np.arange(len(features) + 1))
    for j in range(len(features)):
        sel = by_indicator[bounds[j] : bounds[j + 1]]
        if sel.size == 0:
            continue
        distinct, inverse = np.unique(value[sel], return_inverse=True)
        text_index[sel] = len(texts_zh) + inverse.ravel()
        indicator = catalog.BY_ID[features[j]]
        distinct = (distinct + 0.0).tolist()  # -0.0 and 0.0 are one value here: rendered as 0.0
        texts_zh += indicator.reasons(distinct, "zh")
        texts_en += indicator.reasons(distinct, "en")
    return text_index, texts_zh, texts_en


def _reason_structs(ind: np.ndarray, value: np.ndarray, points, features: tuple[str, ...]) -> pa.StructArray:
    """Reasons (indicator positions, values, points) with their texts rendered (`_rendered`), encoded."""
    text_index, texts_zh, texts_en = _rendered(ind, value, features)
    codes = pa.array(text_index)
    texts = [pa.DictionaryArray.from_arrays(codes, pa.array(t, pa.string())) for t in (texts_zh, texts_en)]
    return _structs(ind, value, points, features, *texts)


def _structs(ind, value, points, features, zh: pa.DictionaryArray, en: pa.DictionaryArray) -> pa.StructArray:
    """Reasons as `REASON_ENCODED` holds them: indicator positions, values (NaN: missing), points, texts."""
    return pa.StructArray.from_arrays(
        [
            pa.DictionaryArray.from_arrays(pa.array(np.asarray(ind, dtype=np.int32)), pa.array(list(features))),
            pa.array(value, mask=np.isnan(value)),
            pa.array(points),
            zh,
            en,
        ],
        fields=list(REASON_ENCODED.value_type),
    )


def merged_reasons(
    fresh: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    changed: np.ndarray,
    previous: pa.Array,
    source: np.ndarray,
    values: np.ndarray,
    features: tuple[str, ...],
) -> pa.ListArray:
    """Every row's reasons in row order (`REASON_ENCODED`): row `changed[k]` has the k-th of the rows just
    explained (`fresh`: `top`'s offsets, indicators, values, points of the changed rows); every other row i has
    last month's reasons of row `source[i]` of `previous` — the same indicators in the same order with the same
    points, since the model sees it unchanged — with each value from this month's `values`. A text is a function
    of the indicator and the value alone, so a reason whose indicator and value the enterprise already had last
    month keeps last month's text, reused or just explained; only the others are rendered (an enterprise a month
    older is still in the same bin, but its reason says its age). `source` is -1 for a row not graded last month.
    Assembled in one compiled pass, the texts as codes into last month's and the new distinct texts; `previous`
    may hold its indicator and texts dictionary-encoded (as read from Parquet with `REASON_DICTIONARY`) or plain."""
    previous = previous.combine_chunks() if isinstance(previous, pa.ChunkedArray) else previous
    n = len(values)
    fresh_row = np.full(n, -1, dtype=np.int64)
    fresh_row[changed] = np.arange(len(changed))
    old_off = np.asarray(previous.offsets, dtype=np.int64)
    old_off = old_off - old_off[0]  # `flatten` starts at the first row's first reason
    old = previous.flatten()

    def number(array: pa.Array) -> np.ndarray:
        return np.ascontiguousarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)

    names = pa.array(list(features))
    old_ind = _positions(old.field("indicator"), names)
    old_value = number(old.field("value"))
    new_off, new_ind, _, new_points = fresh  # a fresh row's values are its row of `values`
    out_off = _merged_offsets(fresh_row, np.asarray(source, dtype=np.int64), old_off, np.asarray(new_off, np.int64))
    total = int(out_off[-1])
    ind = np.empty(total, dtype=np.int32)
    value, points = np.empty(total), np.empty(total)
    (zh, zh_dictionary), (en, en_dictionary) = (_codes(old.field(lang)) for lang in ("zh", "en"))
    text = np.empty((2, total), dtype=np.int32)  # codes of the zh and en texts, -1 where to be rendered
    _merge(
        fresh_row, np.asarray(source, dtype=np.int64), np.ascontiguousarray(values, dtype=np.float64),
        old_off, old_ind, old_value, number(old.field("points")), zh, en,
        np.asarray(new_off, np.int64), np.asarray(new_ind, np.int32), np.asarray(new_points, np.float64),
        out_off, ind, value, points, text,
    )  # fmt: skip
    render = np.flatnonzero(text[0] < 0)
    text_index, texts_zh, texts_en = _rendered(ind[render].astype(np.int64), value[render], features)
    texts = []
    for codes, dictionary, rendered in ((text[0], zh_dictionary, texts_zh), (text[1], en_dictionary, texts_en)):
        codes[render] = len(dictionary) + text_index
        strings = pa.concat_arrays([dictionary, pa.array(rendered, pa.string())])
        texts.append(pa.DictionaryArray.from_arrays(pa.array(codes), strings))
    struct = _structs(ind, value, points, features, *texts)
    return pa.ListArray.from_arrays(pa.array(out_off.astype(np.int32)), struct)


@numba.njit(cache=True)
def _merged_offsets(fresh_row, source, old_off, new_off):  # pragma: no cover - compiled
    """Each row's first reason in the merged list: its fresh ones' count where explained, else last month's."""
    out = np.zeros(fresh_row.size + 1, dtype=np.int64)
    for i in range(fresh_row.size):
        k = fresh_row[i]
        if k >= 0:
            count = new_off[k + 1] - new_off[k]
        else:
            count = old_off[source[i] + 1] - old_off[source[i]]
        out[i + 1] = out[i] + count
    return out


@numba.njit(cache=True)
def _same(a, b) -> bool:  # pragma: no cover - compiled
    return a == b or (np.isnan(a) and np.isnan(b))


@numba.njit(parallel=True, cache=True)
def _merge(
    fresh_row, source, values, old_off, old_ind, old_value, old_points, old_zh, old_en, new_off, new_ind,
    new_points, out_off, ind, value, points, text,
):  # pragma: no cover - compiled  # fmt: skip
    """Fill the merged reasons (see `merged_reasons`): indicator, this month's value, points, and the codes of the
    texts of the reason last month that reads the same (-1: to be rendered)."""
    for i in numba.prange(fresh_row.size):
        k, s, e = fresh_row[i], source[i], out_off[i]
        if k < 0:  # seen unchanged: last month's reasons, this month's values
            for q in range(old_off[s], old_off[s + 1]):
                j = old_ind[q]
                v = values[i, j]
                ind[e], value[e], points[e] = j, v, old_points[q]
                kept = _same(old_value[q], v)
                text[0, e] = old_zh[q] if kept else -1
                text[1, e] = old_en[q] if kept else -1
                e += 1
            continue
        for q in range(new_off[k], new_off[k + 1]):  # just explained: a text of last month's where it reads so
            j = new_ind[q]
            v = values[i, j]
            ind[e], value[e], points[e] = j, v, new_points[q]
            text[0, e], text[1, e] = -1, -1
            if s >= 0:
                for r in range(old_off[s], old_off[s + 1]):
                    if old_ind[r] == j and _same(old_value[r], v):
                        text[0, e], text[1, e] = old_zh[r], old_en[r]
                        break
            e += 1


# the reason fields read dictionary-encoded from a graded table's Parquet (`pq.read_table(read_dictionary=)`)
REASON_DICTIONARY = [f"reasons.list.element.{f}" for f in ("indicator", "zh", "en")]


def _positions(strings: pa.Array, names: pa.Array) -> np.ndarray:
    """Each string's position among `names` (int32), by the dictionary where the strings are encoded."""
    if pa.types.is_dictionary(strings.type):
        return _positions(strings.dictionary, names)[strings.indices.to_numpy(zero_copy_only=False)]
    return pa.compute.index_in(strings, value_set=names).to_numpy(zero_copy_only=False).astype(np.int32)


def _codes(strings: pa.Array) -> tuple[np.ndarray, pa.StringArray]:
    """Strings as codes into their distinct values: the dictionary they are encoded with, else one made."""
    if not pa.types.is_dictionary(strings.type):
        strings = pa.compute.dictionary_encode(strings)
    return strings.indices.to_numpy(zero_copy_only=False).astype(np.int32), strings.dictionary.cast(pa.string())
