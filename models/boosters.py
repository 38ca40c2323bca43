"""LightGBM boosters read from text that may be damaged: tried in a child process first.

LightGBM parses a model in C++ and, on some malformed input (a truncated tree, a garbled header), aborts
the whole process ("Model format error … terminate called") instead of raising — in the service that is a
worker crash loop. So a booster's text is first parsed and smoke-tested in a short-lived child: a known row
scored, and its contributions (`pred_contrib`) summed back to its margin. Only a text that passed is parsed
in this process; a text that passed once (by its SHA-256) is not tried again.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from creditgrade.features.errors import CreditgradeError

CHILD_SECONDS = 120

_CHILD = r"""
import json, sys
sys.modules["sklearn"] = sys.modules["pandas"] = None  # optional to LightGBM; importing them took 2.5 s
import numpy as np
import lightgbm as lgb
for text in json.load(sys.stdin):
    booster = lgb.Booster(model_str=text)
    n = booster.num_feature()
    rows = np.vstack([np.zeros(n), np.full(n, np.nan), np.linspace(-1.0, 1.0e6, n)])
    margin = booster.predict(rows, raw_score=True)
    contributions = booster.predict(rows, pred_contrib=True)
    if contributions.shape != (3, n + 1) or not np.allclose(contributions.sum(axis=1), margin, atol=1e-6):
        sys.exit("the contributions do not add up to the margin")
    if not np.isfinite(margin).all():
        sys.exit("the model scores a known row as not a number")
print("ok")
"""

_PASSED: set[str] = set()  # digests of the models this process has checked: a reload of one is not checked again


class ModelRejected(CreditgradeError):
    """A registered model that cannot be loaded safely: the one in use stays in use."""

    code = "model_rejected"
    status = 422


def checked_boosters(texts: list[str], what: str) -> list:
    """The boosters of `texts` (LightGBM's text format), each parsed and smoke-tested in a child process
    before it is parsed here; ModelRejected naming `what` if any fails."""
    digests = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    untried = [t for t, d in zip(texts, digests) if d not in _PASSED]
    if untried:
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        try:
            child = subprocess.run(
                [sys.executable, "-c", _CHILD],
                input=json.dumps(untried),
                capture_output=True,
                encoding="utf-8",
                errors="replace",
                env=env,
                timeout=CHILD_SECONDS,
            )
        except subprocess.TimeoutExpired:
            raise ModelRejected(
                f"{what}: LightGBM did not finish reading the model within {CHILD_SECONDS} s",
                f"{what}：LightGBM 在 {CHILD_SECONDS} 秒内未能读取模型",
            ) from None
        if child.returncode != 0 or child.stdout.strip() != "ok":
            why = _why(child.stderr)
            raise ModelRejected(
                f"{what} cannot be loaded: {why}; the model in use stays in use",
                f"{what} 无法加载（{why}）；继续使用当前模型",
            )
        _PASSED.update(hashlib.sha256(t.encode()).hexdigest() for t in untried)
    import lightgbm as lgb  # here, not at import: the service's arbiter imports this module only for its errors

    return [lgb.Booster(model_str=t) for t in texts]


def _why(stderr: str) -> str:
    """The child's last meaningful line: LightGBM's own message where it gave one."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    found = next((line for line in reversed(lines) if "LightGBM" in line or "error" in line.lower()), None)
    found = found or (lines[-1] if lines else "the process that tried it was killed")
    return "".join(c for c in found if c.isprintable() and c != "\ufffd")[:300]
