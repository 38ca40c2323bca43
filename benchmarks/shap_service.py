"""The comparison service of benchmarks/service_load.py: a plain BentoML endpoint that explains each
request with shap.TreeExplainer (no keys, no audit) — what one would write first.

    CREDITGRADE_MLRUNS=data/bench/mlruns .venv/bin/bentoml serve benchmarks.shap_service:PlainShap --port 3001
"""

from __future__ import annotations

import os

import bentoml
import numpy as np


@bentoml.service(name="plain-shap", workers=int(os.environ.get("CREDITGRADE_WORKERS", os.cpu_count() or 1)))
class PlainShap:
    def __init__(self) -> None:
        import shap

        from creditgrade.training import tracking

        tracking.configure()
        self.model = tracking.load().model
        self.explainer = shap.TreeExplainer(self.model.booster_)

    @bentoml.api(route="/v1/explain")
    def explain(self, records: list[dict[str, float | None]]) -> dict:
        f = self.model.features
        x = np.array([[np.nan if r.get(c) is None else r[c] for c in f] for r in records], dtype=float)
        phi = self.explainer.shap_values(x)
        phi = phi[1] if isinstance(phi, list) else phi
        p = self.model.predict_proba(__import__("pandas").DataFrame(x, columns=f))
        return {
            "results": [
                {"probability": float(p[i]), "contributions": dict(zip(f, map(float, phi[i])))}
                for i in range(len(records))
            ]
        }
