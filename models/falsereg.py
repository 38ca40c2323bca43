"""The false-registration model (虚假登记识别): confirmed cases, an anomaly score, and the rules it must beat.

Labels are scarce and selected: only enterprises an inspection looked at are confirmed false
(finding `false_registration`) or genuine (inspected, none found). So the score has three parts:

- **supervised**: monotone LightGBM on the confirmed cases, over the catalog's false-registration
  features (constrained where the catalog gives a direction, free for the shared risk indicators,
  whose direction for shells is not the risk model's); cross-fitted in folds, early stopping on the
  held-out fold, the fold models' mean log-odds used for the city;
- **anomaly**: scikit-learn's IsolationForest over the same features on the whole city (missing values
  as the city's medians), so that enterprises unlike any confirmed case still surface; higher = stranger;
- **combined**: a logistic regression stacked on the two (out-of-fold log-odds, standardised anomaly),
  fitted on the confirmed cases — it decides how much the anomaly adds.

`rules_score` is the baseline regulators use today (一人多企、一址多照, shared phones, agents filing in
bursts, empty shells): the number of rules an enterprise breaks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from creditgrade.features import catalog
from creditgrade.features.errors import CreditgradeError
from creditgrade.features.settings import settings
from creditgrade.models.boosters import checked_boosters

FEATURES: tuple[str, ...] = catalog.FALSE_REGISTRATION_IDS
OWN = {i.id for i in catalog.FALSE_REGISTRATION}
STATE_FORMAT = "creditgrade-falsereg-v1"
# The only types the registered anomaly forest may hold (checked before skops builds anything).
FOREST_TYPES = (
    "sklearn.ensemble._iforest.IsolationForest",
    "sklearn.tree._classes.ExtraTreeRegressor",
    "sklearn.tree._tree.Tree",
)


@dataclass(frozen=True)
class Rule:
    id: str
    en: str
    zh: str
    indicator: str
    threshold: float  # broken when the value is above it


CLUSTER = int(catalog.BY_ID["d2_cluster_address"].params["more_than"])  # a cluster address, as the catalog says
RULES: tuple[Rule, ...] = (
    Rule(
        "address",
        f"more than {CLUSTER} enterprises at one address (一址多照)",
        f"一址多照：同一住所登记企业超过{CLUSTER}户",
        "d2_enterprises_at_address",
        CLUSTER,
    ),
    Rule(
        "person",
        "a legal representative heading more than 5 enterprises (一人多企)",
        "一人多企：同一法定代表人名下企业超过5户",
        "fr_enterprises_per_rep",
        5,
    ),
    Rule(
        "phone",
        "a phone shared by more than 5 enterprises",
        "同一联系电话登记企业超过5户",
        "fr_enterprises_per_phone",
        5,
    ),
    Rule(
        "agent",
        "an agent filing more than 10 enterprises within 30 days",
        "同一代理机构30天内办理登记超过10户",
        "fr_agent_registered_30d",
        10,
    ),
    Rule(
        "empty",
        "no insured staff, or no annual report ever filed although due",
        "无参保人员或应报未报年报",
        "fr_zero_insured",
        0,
    ),
)


def rules_broken(frame: pd.DataFrame) -> pd.DataFrame:
    """One 0/1 column per rule."""
    out = {}
    for r in RULES:
        broken = np.nan_to_num(frame[r.indicator].to_numpy(float)) > r.threshold
        if r.id == "empty":
            broken |= np.nan_to_num(frame["fr_no_report_ever"].to_numpy(float)) > 0
        out[r.id] = broken.astype(int)
    return pd.DataFrame(out, index=frame.index)


def rules_score(frame: pd.DataFrame, *, severity: bool = False) -> np.ndarray:
    """The rules baseline: how many rules an enterprise breaks (0–5), ties broken at random — a fixed
    hash of the USCC, as a regulator drawing from the flagged would. With severity=True, ties are broken
    by how far over the thresholds it is instead (mean of value/threshold, capped at 10): a stronger
    variant than the rules as used, shown beside them."""
    hits = rules_broken(frame).sum(axis=1).to_numpy(float)
    if severity:
        over = sum(
            np.minimum(np.nan_to_num(frame[r.indicator].to_numpy(float)) / max(r.threshold, 1.0), 10.0) for r in RULES
        )
        return hits + over / len(RULES) / 100
    tie = pd.util.hash_array(frame["uscc"].to_numpy(dtype=object)).astype(np.float64) / 2.0**64
    return hits + tie / 2


def constraints(ids: tuple[str, ...] = FEATURES) -> list[int]:
    """The catalog's direction for the false-registration features; none for the shared risk indicators."""
    return [catalog.BY_ID[i].direction if i in OWN else 0 for i in ids]


@dataclass(frozen=True)
class FalseRegConfig:
    learning_rate: float = 0.05
    num_leaves: int = 15
    min_child_samples: int = 20
    n_estimators: int = 2000
    early_stopping_rounds: int = 100
    folds: int = 5
    anomaly_trees: int = 200
    anomaly_sample: int = 200_000  # enterprises the forest is grown from (a fixed random subset)
    num_threads: int = field(default_factory=lambda: settings().threads)  # OMP_NUM_THREADS, else the cores
    seed: int = 0

    def lightgbm_params(self) -> dict:
        return {
            "objective": "binary",
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "monotone_constraints": constraints(),
            "monotone_constraints_method": "advanced",
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }


class FalseRegModel:
    """P(false registration | features), with the anomaly score beside it."""

    def __init__(self, config: FalseRegConfig | None = None):
        self.config = config or FalseRegConfig()

    def fit(self, x: pd.DataFrame, y, city: pd.DataFrame) -> FalseRegModel:
        """x, y: confirmed cases (1 false, 0 genuine); city: every enterprise's features, for the anomaly score."""
        x, city = self._check(x), self._check(city)
        y = np.asarray(y, dtype=int)
        counts = np.bincount(y, minlength=2)
        if counts.min() < self.config.folds:
            raise CreditgradeError(
                f"{counts[1]} confirmed false and {counts[0]} confirmed genuine registrations: each "
                f"class needs at least {self.config.folds} to learn from",
                f"确认虚假登记 {counts[1]} 户、真实登记 {counts[0]} 户：每类至少需要 {self.config.folds} 户才能学习",
                code="too_few_cases",
            )
        self.medians_ = city.median().to_dict()
        self._fit_anomaly(city)
        margin = np.zeros(len(x))
        self.boosters_ = []
        folds = StratifiedKFold(self.config.folds, shuffle=True, random_state=self.config.seed)
        for fit, held in folds.split(x, y):
            train = lgb.Dataset(x.iloc[fit], label=y[fit], free_raw_data=False)
            valid = lgb.Dataset(x.iloc[held], label=y[held], reference=train)
            booster = lgb.train(
                self.config.lightgbm_params(),
                train,
                num_boost_round=self.config.n_estimators,
                valid_sets=[valid],
                callbacks=[lgb.early_stopping(self.config.early_stopping_rounds, verbose=False)],
            )
            margin[held] = booster.predict(x.iloc[held], num_iteration=booster.best_iteration, raw_score=True)
            self.boosters_.append(booster)
        stack = LogisticRegression(C=1e4, max_iter=1000).fit(np.column_stack([margin, self.anomaly(x)]), y)
        self.stack_ = (float(stack.coef_[0, 0]), float(stack.coef_[0, 1]), float(stack.intercept_[0]))
        self.out_of_fold_ = margin
        self.catalog_version_ = catalog.version()
        return self

    def fit_anomaly_only(self, city: pd.DataFrame) -> FalseRegModel:
        """No confirmed cases: the anomaly forest alone (no supervised part; `anomaly` is the score)."""
        city = self._check(city)
        self.medians_ = city.median().to_dict()
        self._fit_anomaly(city)
        self.boosters_ = []
        self.catalog_version_ = catalog.version()
        return self

    def _fit_anomaly(self, city: pd.DataFrame) -> None:
        rng = np.random.default_rng(self.config.seed)
        sample = city.iloc[np.sort(rng.choice(len(city), min(len(city), self.config.anomaly_sample), replace=False))]
        self.forest_ = IsolationForest(
            n_estimators=self.config.anomaly_trees, random_state=self.config.seed, n_jobs=self.config.num_threads
        ).fit(self._filled(sample).to_numpy())
        raw = -self.forest_.score_samples(self._filled(sample).to_numpy())
        self.anomaly_scale_ = (float(raw.mean()), float(raw.std() or 1.0))

    def _filled(self, x: pd.DataFrame) -> pd.DataFrame:
        return x.fillna(self.medians_)

    def margin(self, x: pd.DataFrame) -> np.ndarray:
        """The supervised log-odds: the mean of the fold models'."""
        x = self._check(x)
        return np.mean([b.predict(x, num_iteration=b.best_iteration, raw_score=True) for b in self.boosters_], axis=0)

    def anomaly(self, x: pd.DataFrame) -> np.ndarray:
        """How unlike the city an enterprise is, in standard deviations of the city's (higher = stranger)."""
        raw = -self.forest_.score_samples(self._filled(self._check(x)).to_numpy())
        return (raw - self.anomaly_scale_[0]) / self.anomaly_scale_[1]

    def scores(self, x: pd.DataFrame) -> pd.DataFrame:
        """supervised and combined probabilities, and the anomaly score, for every row."""
        m, a = self.margin(x), self.anomaly(x)
        wm, wa, b = self.stack_
        return pd.DataFrame(
            {"supervised": 1 / (1 + np.exp(-m)), "anomaly": a, "combined": 1 / (1 + np.exp(-(wm * m + wa * a + b)))},
            index=x.index,
        )

    def contributions(self, x: pd.DataFrame) -> np.ndarray:
        """Each feature's share of the supervised log-odds (TreeSHAP, the fold models' mean); rows × features."""
        x = self._check(x)
        return np.mean(
            [
                np.asarray(b.predict(x, num_iteration=b.best_iteration, pred_contrib=True))[:, :-1]
                for b in self.boosters_
            ],
            axis=0,
        )

    def _check(self, x: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in FEATURES if c not in x.columns]
        if missing:
            raise CreditgradeError(
                f"the feature table lacks false-registration feature(s) {', '.join(missing[:5])}",
                f"指标表缺少虚假登记特征 {', '.join(missing[:5])}",
            )
        return x[list(FEATURES)].astype("float64")

    def params(self) -> dict:
        return {f"fr_{k}": v for k, v in asdict(self.config).items()}

    # -- learned state as data ------------------------------------------------

    def to_files(self) -> dict[str, bytes]:
        """What the model learned, as data: `state.json` (the fold boosters in LightGBM's text format, the
        stacker's coefficients, the medians, the anomaly scale) and `forest.skops` (the anomaly forest in
        skops' format: JSON and arrays, no pickle)."""
        import skops.io

        state = {
            "format": STATE_FORMAT,
            "config": asdict(self.config),
            "features": list(FEATURES),
            "catalog_version": self.catalog_version_,
            "boosters": [b.model_to_string(num_iteration=b.best_iteration) for b in self.boosters_],
            "stack": list(self.stack_) if self.boosters_ else None,
            "medians": self.medians_,
            "anomaly_scale": list(self.anomaly_scale_),
        }
        return {"state.json": json.dumps(state).encode(), "forest.skops": skops.io.dumps(self.forest_)}

    @classmethod
    def from_files(cls, state: bytes, forest: bytes, isolated: bool = False) -> FalseRegModel:
        """The model back from `to_files`. Nothing in the files is executed: the boosters are parsed by
        LightGBM, and skops builds the forest only from scikit-learn's tree types (anything else is refused)."""
        import skops.io

        d = json.loads(state)
        if d.get("format") != STATE_FORMAT or list(d.get("features", [])) != list(FEATURES):
            raise CreditgradeError(
                "the registered false-registration model was saved in another format or for other features: retrain it",
                "已注册的虚假登记模型格式或特征不符：请重新训练",
                code="registry",
            )
        untrusted = set(skops.io.get_untrusted_types(data=forest)) - set(FOREST_TYPES)
        if untrusted:
            raise CreditgradeError(
                f"the registered anomaly forest holds types that are not trusted: {', '.join(sorted(untrusted))}",
                "已注册的异常检测森林含有不受信任的类型",
                code="registry",
            )
        model = cls(FalseRegConfig(**{**d["config"], "num_threads": settings().threads}))
        if isolated:  # parsed and smoke-tested in a child process first (`models.boosters`)
            model.boosters_ = checked_boosters(list(d["boosters"]), "the false-registration model")
        else:
            model.boosters_ = [lgb.Booster(model_str=s) for s in d["boosters"]]
        for b in model.boosters_:
            b.best_iteration = 0  # the saved string holds exactly the kept trees
        if d["stack"] is not None:
            wm, wa, b0 = (float(v) for v in d["stack"])
            model.stack_ = (wm, wa, b0)
        model.medians_ = {k: (np.nan if v is None else v) for k, v in d["medians"].items()}
        model.anomaly_scale_ = (float(d["anomaly_scale"][0]), float(d["anomaly_scale"][1]))
        model.forest_ = skops.io.loads(forest, trusted=list(FOREST_TYPES))
        model.forest_.set_params(n_jobs=model.config.num_threads)
        model.catalog_version_ = d["catalog_version"]
        return model
