"""Event logs the simulator keeps to know each enterprise's observable record.

The latent risk of the next year depends on what happened before (penalties,
listings, complaints...). A log keeps only the few years that matter, so memory
does not grow with the length of the simulated history.
"""

from __future__ import annotations

import numpy as np

from creditgrade.features.city.calendar import NO_DAY


class EventLog:
    """Dated events per enterprise; an event counts from its date until `until` (exclusive)."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(
        self, ent: np.ndarray, date: np.ndarray, until: np.ndarray | None = None, weight: np.ndarray | float = 1.0
    ) -> None:
        ent = np.asarray(ent, dtype=np.int64)
        if ent.size == 0:
            return
        date = np.broadcast_to(np.asarray(date, dtype=np.int64), ent.shape)
        until = (
            np.full(ent.shape, NO_DAY, dtype=np.int64)
            if until is None
            else np.broadcast_to(np.asarray(until, dtype=np.int64), ent.shape)
        )
        weight = np.broadcast_to(np.asarray(weight, dtype=np.float64), ent.shape)
        self._parts.append((ent, date.copy(), until.copy(), weight.copy()))
        self._cache = None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self._cache is None:
            if not self._parts:
                empty_i, empty_f = np.empty(0, np.int64), np.empty(0, np.float64)
                self._cache = (empty_i, empty_i, empty_i, empty_f)
            else:
                self._cache = tuple(np.concatenate(a) for a in zip(*self._parts))  # type: ignore[assignment]
                self._parts = [self._cache]  # type: ignore[list-item]
        return self._cache  # type: ignore[return-value]

    def count(self, n: int, since: int, at: int) -> np.ndarray:
        """Weighted count per enterprise of events dated in [since, at) still counting at `at`."""
        ent, date, until, weight = self._arrays()
        m = (date >= since) & (date < at) & (until > at)
        return np.bincount(ent[m], weights=weight[m], minlength=n)

    def active(self, n: int, at: int) -> np.ndarray:
        """Whether each enterprise has an event that started before `at` and still runs at `at`."""
        return self.count(n, np.iinfo(np.int64).min, at) > 0

    def started_before(self, n: int, at: int, since: int) -> np.ndarray:
        """Earliest start (or NO_DAY) among events still running at `at` that began before `since`."""
        ent, date, until, _ = self._arrays()
        m = (date < since) & (until > at)
        first = np.full(n, NO_DAY, dtype=np.int64)
        np.minimum.at(first, ent[m], date[m])
        return first

    def prune(self, keep_from: int) -> None:
        """Forget events that ended, and started, before `keep_from`."""
        ent, date, until, weight = self._arrays()
        m = (date >= keep_from) | (until >= keep_from)
        self._cache = (ent[m], date[m], until[m], weight[m])
        self._parts = [self._cache]
