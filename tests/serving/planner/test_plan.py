"""A plan from the graded city to a published list: byte-identical, verifiable, tamper-evident."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from creditgrade.models.planning.plan import PlanError, parse_plan
from creditgrade.serving.cli import app
from creditgrade.serving.planner.plan import preview, verify, write_plan

PLAN = {
    "plan_id": "2026-01-public-info",
    "budget": 0.03,
    "floor": 0.005,
    "strata": ["district"],
    "inspectors": {"load_cap": 40},
}
SEED = "2026-01-05 lottery 03 11 27"
runner = CliRunner()


@pytest.fixture(scope="module")
def published(graded_city, tmp_path_factory):
    out = tmp_path_factory.mktemp("plans")
    pv = preview(graded_city.latest, parse_plan(PLAN), inspectors=graded_city.raw / "inspectors.csv")
    meta = write_plan(pv, SEED, out / "a")
    write_plan(
        preview(graded_city.latest, parse_plan(PLAN), inspectors=graded_city.raw / "inspectors.csv"), SEED, out / "b"
    )
    return pv, meta, out


def said(result) -> str:
    """The command's output with the console's line wrapping undone."""
    return " ".join(result.output.split())


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_same_inputs_give_byte_identical_files(published):
    _, _, out = published
    names = sorted(p.name for p in (out / "a").iterdir())
    assert names == ["expected_problems.png", "list.csv", "list.parquet", "plan.json", "probabilities.parquet"]
    assert [digest(out / "a" / n) for n in names] == [digest(out / "b" / n) for n in names]


def test_the_list_has_every_column_and_its_probabilities(published, graded_city):
    pv, meta, out = published
    listed = pd.read_parquet(out / "a" / "list.parquet")
    assert list(listed.columns) == [
        "plan_id",
        "uscc",
        "name",
        "district_zh",
        "district_en",
        "industry_zh",
        "industry_en",
        "stratum",
        "grade",
        "problem_probability",
        "inclusion_probability",
        "draw_value",
        "reasons_zh",
        "reasons_en",
        "inspector_1",
        "inspector_2",
    ]
    assert listed.uscc.is_monotonic_increasing and listed.uscc.is_unique
    assert (listed.draw_value >= 0).all() and (listed.draw_value < round(listed.inclusion_probability.sum()) + 1).all()
    everyone = pd.read_parquet(out / "a" / "probabilities.parquet").set_index("uscc")
    assert np.allclose(everyone.loc[listed.uscc, "inclusion_probability"], listed.inclusion_probability)
    active = everyone.excluded_reason.isna()
    assert round(everyone.inclusion_probability.sum()) >= np.ceil(0.03 * active.sum())  # the legal 3%, whole
    assert (everyone.inclusion_probability[active] >= 0.005 - 1e-12).all()
    assert everyone.excluded_reason.dropna().str.contains("not operating").all()
    assert len(listed) == round(meta.summary.expected_inspections) == meta.drawn  # exactly the planned size
    assert listed.reasons_zh.str.len().gt(0).all() and listed.reasons_en.str.len().gt(0).all()
    assert meta.summary.expected_problems > meta.summary.uniform_problems
    # two different inspectors, both covering the enterprise's district; no person identifiers anywhere
    inspectors = pd.read_csv(graded_city.raw / "inspectors.csv", dtype=str, keep_default_na=False).set_index(
        "inspector_id"
    )
    assert (listed.inspector_1 != listed.inspector_2).all()
    for col in ("inspector_1", "inspector_2"):
        covers = inspectors.loc[listed[col], "districts"].to_numpy()
        assert all(code in c.split(";") for code, c in zip(listed.stratum, covers))
    people = pq.read_table(graded_city.clean / "enterprises.parquet", columns=["legal_rep_id", "phone_id"]).to_pandas()
    text = (out / "a" / "list.csv").read_text(encoding="utf-8")
    assert not any(v in text for v in set(people.legal_rep_id.dropna()) | set(people.phone_id.dropna()))


def test_verification_accepts_the_list_and_fails_if_one_row_changes(published, tmp_path):
    pv, _, out = published
    assert verify(out / "a" / "list.csv", pv, SEED) == []
    assert verify(out / "a" / "list.parquet", pv, SEED) == []
    assert verify(out / "a" / "list.csv", pv, SEED + " ") != []  # another seed, another list
    with pytest.raises(PlanError, match="seed must not be empty"):
        verify(out / "a" / "list.csv", pv, "  ")
    listed = pd.read_csv(out / "a" / "list.csv", dtype=str, keep_default_na=False)
    others = pd.read_parquet(out / "a" / "probabilities.parquet")
    outsider = others[~others.uscc.isin(listed.uscc) & others.excluded_reason.isna()].uscc.iloc[0]
    tampered = {
        "grade": listed.assign(grade=np.where(listed.index == 3, "A+", listed.grade)),
        "inspector": listed.assign(inspector_2=np.where(listed.index == 0, "SZ99-9999", listed.inspector_2)),
        "probability": listed.assign(
            inclusion_probability=np.where(listed.index == 1, "0.5", listed.inclusion_probability)
        ),
        "removed": listed.drop(index=2),
        "added": pd.concat([listed, listed.iloc[[0]].assign(uscc=outsider)]),
    }
    for what, frame in tampered.items():
        path = tmp_path / f"{what}.csv"
        frame.to_csv(path, index=False)
        problems = verify(path, pv, SEED)
        assert len(problems) == 1, (what, problems)


def test_the_commitment_binds_the_plan_and_the_graded_table(graded_city):
    a = preview(graded_city.latest, parse_plan(PLAN))
    b = preview(graded_city.latest, parse_plan({**PLAN, "floor": 0.006}))
    c = preview(graded_city.graded / str(graded_city.days[1]), parse_plan(PLAN))
    assert len({a.commitment, b.commitment, c.commitment}) == 3
    assert a.commitment == preview(graded_city.latest, parse_plan(dict(reversed(PLAN.items())))).commitment


def test_recent_checks_are_excluded_with_their_date(graded_city):
    plan = parse_plan({**PLAN, "exclude": {"checked_within_months": 12}})
    with pytest.raises(PlanError, match="give the spot-check table"):
        preview(graded_city.latest, plan)
    pv = preview(graded_city.latest, plan, checks=graded_city.clean)
    checks = pd.read_parquet(graded_city.clean / "spot_checks.parquet")
    recent = set(checks[pd.to_datetime(checks.check_date) > pd.Timestamp("2024-12-31")].uscc)
    excluded = pv.frame[pv.frame.reason.fillna("").str.contains("within 12 months")]
    assert len(excluded) > 0 and set(excluded.uscc) <= recent
    assert (pv.probabilities.pi[excluded.index] == 0).all()
    assert "checks" in pv.digests


def test_cli_commit_draw_and_verify(graded_city, tmp_path):
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(PLAN), encoding="utf-8")
    common = [
        "--graded",
        str(graded_city.latest),
        "--config",
        str(plan),
        "--inspectors",
        str(graded_city.raw / "inspectors.csv"),
    ]
    r = runner.invoke(app, ["plan", "commit", *common, "--plot", str(tmp_path / "expected.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "expected.png").stat().st_size > 5_000
    commitment = r.output.strip().splitlines()[-1]
    assert "a uniform random draw" in said(r) and len(commitment) == 64
    r = runner.invoke(app, ["plan", *common, "--seed", SEED, "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["plan", "verify", str(tmp_path / "out" / "list.csv"), *common, "--seed", SEED, "--commitment", commitment]
    )
    assert r.exit_code == 0 and "matches" in said(r), r.output
    r = runner.invoke(
        app, ["plan", "verify", str(tmp_path / "out" / "list.csv"), *common, "--seed", SEED, "--commitment", "0" * 64]
    )
    assert r.exit_code == 2 and "does NOT match" in said(r)
    r = runner.invoke(app, ["plan", *common, "--seed", SEED, "--out", str(tmp_path / "out")])
    assert r.exit_code == 2 and "already exists" in said(r)  # nothing overwritten without --overwrite
    plan.write_text(yaml.safe_dump({**PLAN, "budget": 0.01}), encoding="utf-8")
    r = runner.invoke(app, ["plan", *common, "--seed", SEED, "--out", str(tmp_path / "low")])
    assert r.exit_code == 2 and "legal minimum" in said(r) and not (tmp_path / "low").exists()
