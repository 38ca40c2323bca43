"""The risk model: monotone LightGBM on the catalog's indicators, then isotonic calibration.

Follows the scikit-learn contract (`__init__` stores parameters, fitted attributes end in `_`,
`fit` returns self). What it learned — the trees (LightGBM's own text format), the calibration map,
the training medians, the catalog version — round-trips through `to_dict`/`from_dict` as plain data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings
from creditgrade.models.scaling import Scale

if TYPE_CHECKING:  # imported where trees are fitted or loaded, not by every module that reads grades
    import lightgbm as lgb


@dataclass(frozen=True)
class RiskModelConfig:
    """Hyperparameters, typed; defaults suit a city-sized training set on two cores."""

    learning_rate: float = 0.03
    num_leaves: int = 15
    max_depth: int = 6
    min_child_samples: int = 20  # 100 kept rare records (the serious list, lost cases) from ever forming a leaf
    n_estimators: int = 3000
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    reg_lambda: float = 1.0
    early_stopping_rounds: int = 100
    stopping_metric: str = "binary_logloss"  # what early stopping watches on the tuning rows (or "auc")
    monotone_method: str = "advanced"
    calibration: str = "sigmoid"  # sigmoid (Platt, keeps scores continuous for grading) or isotonic
    num_threads: int = field(default_factory=lambda: settings().threads)  # OMP_NUM_THREADS, else the cores
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1]; got {self.learning_rate}.")
        if self.calibration not in ("sigmoid", "isotonic"):
            raise ValueError(f"calibration must be 'sigmoid' or 'isotonic'; got {self.calibration!r}.")
        for name in ("num_leaves", "n_estimators", "min_child_samples", "early_stopping_rounds", "num_threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)}.")

    def with_threads(self, n: int) -> RiskModelConfig:
        return replace(self, num_threads=n)

    def lightgbm_params(self, constraints: list[int]) -> dict:
        """LightGBM's parameters; monotone constraints only when one is set (all-zero constraints under the
        "advanced" method still run its slower split search: about 2× the time per tree)."""
        monotone = (
            {"monotone_constraints": constraints, "monotone_constraints_method": self.monotone_method}
            if any(constraints)
            else {}
        )
        return {
            "objective": "binary",
            "metric": self.stopping_metric,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_child_samples": self.min_child_samples,
            "subsample": self.subsample,
            "subsample_freq": 1,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            **monotone,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }


@dataclass(frozen=True)
class Calibrator:
    """Maps the trees' log-odds to a probability: Platt's sigmoid (a·m + b) or an isotonic step map."""

    method: str
    a: float = 1.0
    b: float = 0.0
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    @classmethod
    def fit(cls, method: str, margin: np.ndarray, y: np.ndarray, w: np.ndarray) -> Calibrator:
        if method == "sigmoid":
            # Platt's own targets, (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2), instead of 0/1: on separable tuning rows the
            # plain fit runs off to infinite slopes and probabilities like 1e-48; these keep it finite.
            y = np.asarray(y, dtype=float)
            pos, neg = float(w[y == 1].sum()), float(w[y == 0].sum())
            target = np.where(y == 1, (pos + 1) / (pos + 2), 1 / (neg + 2))
            m = np.concatenate([margin, margin]).reshape(-1, 1)
            labels = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
            weights = np.concatenate([w * target, w * (1 - target)])
            from sklearn.linear_model import LogisticRegression  # fitting only: loading a model does not need it

            lr = LogisticRegression(C=1e6, max_iter=1000).fit(m, labels, sample_weight=weights)
            return cls("sigmoid", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6).fit(margin, y, sample_weight=w)
        return cls("isotonic", x=tuple(iso.X_thresholds_.tolist()), y=tuple(iso.y_thresholds_.tolist()))

    def predict(self, margin: np.ndarray) -> np.ndarray:
        if self.method == "sigmoid":
            return 1 / (1 + np.exp(-(self.a * np.asarray(margin) + self.b)))
        return np.interp(margin, self.x, self.y)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        return cls(d["method"], d.get("a", 1.0), d.get("b", 0.0), tuple(d.get("x", ())), tuple(d.get("y", ())))


class RiskModel:
    """P(an inspection finds a problem | indicators), monotone in every directed indicator."""

    booster_: lgb.Booster  # the fitted trees (set by `fit` or `from_dict`)

    def __init__(
        self,
        config: RiskModelConfig | None = None,
        features: tuple[str, ...] = catalog.RISK_IDS,
        constraints: tuple[int, ...] | None = None,
        catalog_version: str | None = None,
    ):
        self.config = config or RiskModelConfig()
        self.features = tuple(features)
        self.constraints = constraints
        self.catalog_version = catalog_version

    def fit(
        self,
        x: pd.DataFrame,
        y,
        w=None,
        x_valid: pd.DataFrame | None = None,
        y_valid=None,
        w_valid=None,
        init: RiskModel | None = None,
    ) -> RiskModel:
        """Fit the trees; with a validation set, stop early and calibrate on it (out of time).

        Without one, the trees grow `n_estimators` rounds and the probabilities stay uncalibrated until
        `calibrate` is given out-of-fold margins. With `init` (a fitted model of the same indicators) the
        boosting starts from its trees up to its best iteration and adds trees to them (a warm start: its
        rows must not include the validation rows, or the early stopping and calibration would see rows
        the trees learned from).
        """
        x = self._check(x)
        w = np.ones(len(x)) if w is None else np.asarray(w, dtype=float)
        constraints = (
            list(self.constraints) if self.constraints is not None else catalog.monotone_constraints(self.features)
        )
        import lightgbm as lgb  # here: modules that only read grades (the service's first process) skip it

        train = lgb.Dataset(x, label=np.asarray(y), weight=w, free_raw_data=False)
        params = self.config.lightgbm_params(constraints)
        start = None
        if init is not None:
            if tuple(init.features) != self.features:
                raise ValueError("a warm start needs a model of the same indicators, in the same order")
            start = lgb.Booster(model_str=init.booster_.model_to_string(num_iteration=init.booster_.best_iteration))
        if x_valid is None:
            self.booster_ = lgb.train(params, train, num_boost_round=self.config.n_estimators, init_model=start)
            self.booster_.best_iteration = self.booster_.current_iteration()
            self.calibrator_ = Calibrator("sigmoid")
        else:
            x_valid = self._check(x_valid)
            w_valid = np.ones(len(x_valid)) if w_valid is None else np.asarray(w_valid, dtype=float)
            valid = lgb.Dataset(x_valid, label=np.asarray(y_valid), weight=w_valid, reference=train)
            self.booster_ = lgb.train(
                params,
                train,
                num_boost_round=self.config.n_estimators,
                valid_sets=[valid],
                callbacks=[lgb.early_stopping(self.config.early_stopping_rounds, verbose=False)],
                init_model=start,
            )
            self.calibrate(self.predict_raw(x_valid), y_valid, w_valid)
        self.medians_ = {c: (None if np.isnan(v) else float(v)) for c, v in x.median().items()}
        self.scale_ = Scale()  # the default odds scaling until `scale` fits one to a city
        self.catalog_version_ = self.catalog_version or catalog.version()
        return self

    def scale(self, scale: Scale) -> RiskModel:
        """Use this odds scaling for the published score (fitted to a city by `Scale.fit`)."""
        self.scale_ = scale
        return self

    def calibrate(self, margin, y, w=None) -> RiskModel:
        """Fit the calibration map on margins the trees did not learn from (validation or out-of-fold)."""
        w = np.ones(len(margin)) if w is None else np.asarray(w, dtype=float)
        self.calibrator_ = Calibrator.fit(self.config.calibration, np.asarray(margin), np.asarray(y), w)
        return self

    def predict_raw(self, x: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The trees' log-odds (before calibration). `x` a frame holding the indicator columns, or the matrix of
        them in `features` order (`matrix`: several models predicting the same rows convert them once)."""
        if isinstance(x, np.ndarray):
            if x.ndim != 2 or x.shape[1] != len(self.features):
                raise ValueError(f"a matrix of {len(self.features)} indicator columns is needed; got shape {x.shape}")
        else:
            x = self._check(x)
        return np.asarray(self.booster_.predict(x, num_iteration=self.booster_.best_iteration, raw_score=True))

    def matrix(self, x: pd.DataFrame) -> np.ndarray:
        """The indicator columns of `x` in `features` order as one float64 matrix (row-major, as LightGBM reads)."""
        return np.ascontiguousarray(self._check(x).to_numpy(dtype=np.float64))

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that an inspection finds a problem."""
        return self.calibrator_.predict(self.predict_raw(x))

    def _check(self, x: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.features if c not in x.columns]
        if missing:
            raise ValueError(f"input lacks indicator column(s) {', '.join(missing[:5])}")
        return x[list(self.features)].astype("float64")

    # -- learned state as data ------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "config": asdict(self.config),
            "features": list(self.features),
            "catalog_version": self.catalog_version_,
            "constraints": list(self.constraints) if self.constraints is not None else None,
            "booster": self.booster_.model_to_string(num_iteration=self.booster_.best_iteration),
            "best_iteration": int(self.booster_.best_iteration),
            "calibration": self.calibrator_.to_dict(),
            "medians": self.medians_,
            "scale": self.scale_.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict, expect_catalog: str | None = None) -> RiskModel:
        expected = expect_catalog or catalog.version()
        if d["catalog_version"] != expected:
            raise CreditgradeError(
                f"model built for catalog version {d['catalog_version']}; this code has {expected}: retrain it",
                f"模型基于指标目录版本 {d['catalog_version']} 训练，当前代码为 {expected}：请重新训练",
                code="catalog_version",
            )
        constraints = tuple(d["constraints"]) if d.get("constraints") is not None else None
        model = cls(RiskModelConfig(**d["config"]), tuple(d["features"]), constraints, d["catalog_version"])
        import lightgbm as lgb

        model.booster_ = lgb.Booster(model_str=d["booster"])
        model.booster_.best_iteration = 0  # the saved string holds exactly the kept trees (0: use them all)
        model.calibrator_ = Calibrator.from_dict(d["calibration"])
        model.medians_ = d["medians"]
        model.scale_ = Scale.from_dict(d.get("scale"))
        model.catalog_version_ = d["catalog_version"]
        return model
