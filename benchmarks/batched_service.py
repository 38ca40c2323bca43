"""Adaptive batching, measured: the same score-and-explain behind a BentoML batchable endpoint and a plain
one taking a list, side by side in one service (no keys, no audit), for benchmarks/service_load.py.

    CREDITGRADE_MLRUNS=data/bench/mlruns .venv/bin/bentoml serve benchmarks.batched_service:Batching --port 3002
"""

from __future__ import annotations

import os

import bentoml
import numpy as np


def _explain(scoring, records: list[dict]) -> list[dict]:
    f = scoring.model.features
    x = np.array([[np.nan if r.get(c) is None else r[c] for c in f] for r in records], dtype=float).reshape(-1, len(f))
    r = scoring.score(x)
    reasons = r.reasons.to_pylist()
    return [
        {"probability": float(r.probability[i]), "score": float(r.score[i]), "reasons": reasons[i]}
        for i in range(len(records))
    ]


@bentoml.service(name="batched-explain", workers=int(os.environ.get("CREDITGRADE_WORKERS", os.cpu_count() or 1)))
class Batching:
    def __init__(self) -> None:
        from creditgrade.training import tracking

        tracking.configure()
        self.loaded = tracking.load()
        self.loaded.model.config = self.loaded.model.config.with_threads(1)

    @bentoml.api(route="/batched", batchable=True, max_batch_size=64, max_latency_ms=20)
    def batched(self, records: list[dict]) -> list[dict]:
        return _explain(self.loaded, records)

    @bentoml.api(route="/plain")
    async def plain(self, records: list[dict]) -> list[dict]:
        return _explain(self.loaded, records)
