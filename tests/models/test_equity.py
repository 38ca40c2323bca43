"""Equal treatment: calibration per group, inspection per group against like risk, and what a promotion warns of."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from creditgrade.models import equity

GRADES = ("A+", "A", "B", "C", "D", "E")


def _rows(n: int, seed: int = 3, overstated: str | None = None, factor: float = 0.3) -> pd.DataFrame:
    """Test rows whose labels follow the model's probabilities, except in district `overstated`, where a
    problem is found only `factor` as often as predicted."""
    rng = np.random.default_rng(seed)
    districts = rng.choice(["440303", "440304", "440305"], n, p=[0.5, 0.3, 0.2])
    p = rng.uniform(0.05, 0.6, n)
    truth = np.where(districts == overstated, p * factor, p)
    return pd.DataFrame(
        {
            "uscc": [f"u{i}" for i in range(n)],
            "region_code": districts,
            "industry_section": rng.choice(["C", "F"], n),
            "legal_form": rng.choice(["llc", "branch"], n),
            "size_band": rng.choice(["lt_1m", "1m_10m"], n),
            "label": (rng.uniform(size=n) < truth).astype(int),
            "p": p,
            "weight": rng.uniform(1, 3, n),
        }
    )


def _find(rows, grouping, group):
    return next(r for r in rows if r["grouping"] == grouping and r["group"] == group)


def test_a_planted_overstatement_is_flagged_and_only_there():
    clean = equity.calibration_by_group(_rows(6000))
    planted = equity.calibration_by_group(_rows(6000, overstated="440305"))
    assert _find(planted, "district", "440305")["flag"] == "overstated"
    assert _find(clean, "district", "440305")["flag"] is None  # the same district, labels as predicted
    assert not [r for r in clean if r["flag"]]  # nothing else is flagged when the model is right
    hit = _find(planted, "district", "440305")
    assert hit["high"] < hit["predicted"] / 1.25 and hit["ratio"] < 0.5
    assert hit["en"] == "Nanshan" and hit["zh"] == "南山区"


def test_understated_small_groups_crossings_and_the_tolerance():
    rows = _rows(6000, overstated="440305", factor=1.6)  # problems found 1.6× as often as predicted
    assert _find(equity.calibration_by_group(rows), "district", "440305")["flag"] == "understated"
    assert _find(equity.calibration_by_group(rows, tolerance=0.9), "district", "440305")["flag"] is None
    few = equity.calibration_by_group(rows.head(150))  # every group under 100 inspections: shown, not flagged
    assert all(r["inspections"] < 100 or r["grouping"] == "district" for r in few if "×" not in r["grouping"])
    assert not [r for r in few if r["flag"] and r["inspections"] < equity.MIN_INSPECTIONS]
    table = equity.calibration_by_group(rows)
    crossed = [r for r in table if "×" in r["grouping"]]
    assert 0 < len(crossed) <= equity.CROSSINGS and all(r["inspections"] >= equity.MIN_INSPECTIONS for r in crossed)
    assert [r["inspections"] for r in crossed] == sorted((r["inspections"] for r in crossed), reverse=True)
    with pytest.raises(equity.EquityError, match="tolerance"):
        equity.calibration_by_group(rows, tolerance=0)


def _city(n: int, seed: int = 5) -> pd.DataFrame:
    """An operating city graded by probability, with a risk-weighted plan: π rises with the probability."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.8, n)
    grade = np.asarray(GRADES)[np.digitize(p, [0.1, 0.2, 0.35, 0.5, 0.7])]
    return pd.DataFrame(
        {
            "uscc": [f"u{i}" for i in range(n)],
            "region_code": rng.choice(["440303", "440304", "440305"], n),
            "industry_section": rng.choice(["C", "F"], n),
            "legal_form": "llc",
            "size_band": "lt_1m",
            "probability": p,
            "grade": grade,
            "grade_by_score": grade,
            "stratum": "all",
            "pi": np.clip(0.005 + 0.2 * p**2, 0, 1),
        }
    )


def test_like_risk_gets_like_inspection_unless_the_risk_is_overstated():
    city = _city(20_000)
    calibration = equity.calibration_by_group(_rows(6000, overstated="440305"))
    fair = equity.treatment_by_group(city, GRADES, equity.calibration_by_group(_rows(6000)))
    assert all(r["index"] == pytest.approx(1.0) and r["flag"] is None for r in fair if r["enterprises"])
    planted = equity.treatment_by_group(city, GRADES, calibration)
    nanshan = _find(planted, "district", "440305")
    assert nanshan["flag"] == "over" and nanshan["index"] > 1.25  # inspected as if three times as risky
    assert nanshan["expected_problems"] < _find(fair, "district", "440305")["expected_problems"]
    assert _find(planted, "district", "440303")["index"] == pytest.approx(1.0)  # the others as before
    assert sum(nanshan["shares"].values()) == pytest.approx(1.0)
    assert nanshan["inspection_rate"] == pytest.approx(city.pi[city.region_code == "440305"].mean())


def test_strata_and_overrides_show_in_the_index():
    city = _city(20_000)
    city["stratum"] = city["region_code"]
    city.loc[city.region_code == "440303", "pi"] *= 0.5  # one stratum's budget is thinner for the same risk
    rows = equity.treatment_by_group(city, GRADES, [])  # a model without a calibration table: single groups
    assert _find(rows, "district", "440303")["flag"] == "under"
    city = _city(20_000)
    ruled = city.index[city.grade_by_score != "E"][:500]
    city.loc[ruled, ["grade", "pi"]] = ["E", 1.0]  # an override rule: the worst grade, always inspected
    rows = equity.treatment_by_group(city, GRADES, [])
    assert all(r["index"] == pytest.approx(1.0) for r in rows)  # the rule is not counted as unlike treatment
    assert sum(r["overridden"] for r in rows if r["grouping"] == "district") == 500


def test_a_challenger_worse_for_a_group_than_the_champion_is_named():
    champion = equity.calibration_by_group(_rows(6000))
    challenger = equity.calibration_by_group(_rows(6000, overstated="440305"))
    worse = equity.worse_groups(challenger, champion)
    assert ("district", "440305") in {(r["grouping"], r["group"]) for r in worse}
    assert equity.worse_groups(champion, challenger) == []  # the other way round nothing is worse
    assert equity.worse_groups(challenger, challenger) == []


def test_groups_are_named_by_their_text_and_crossed_in_order():
    frame = pd.DataFrame({"region_code": ["", "", "x", "b"], "industry_section": ["C", "F", "C", "C"]})
    codes, names = equity._keys(frame, "district×industry")
    assert names == ["b×C", "x×C", "×C", "×F"]  # sorted by text (× after letters); an empty value is a group
    assert [names[c] for c in codes] == ["×C", "×F", "x×C", "b×C"]
    with pytest.raises(equity.EquityError, match="missing values"):
        equity._keys(frame.assign(region_code=["a", None, "b", "b"]), "district")


def test_an_enterprise_the_register_lacks_is_unknown_and_one_without_capital_is_small():
    rows = pd.DataFrame({"uscc": ["u1", "u2", "u3"]})
    register = pd.DataFrame(
        {
            "uscc": ["u1", "u2"],
            "region_code": ["440303", None],
            "industry_section": ["C", "F"],
            "legal_form": ["llc", "llc"],
            "registered_capital": [50_000.0, np.nan],
        }
    )
    out = equity.with_groups(rows, register)
    assert out["size_band"].astype(str).tolist() == ["ge_100m", "lt_1m", "unknown"]
    assert out["region_code"].astype(str).tolist() == ["440303", "unknown", "unknown"]
