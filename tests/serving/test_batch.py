"""`creditgrade grade`: the graded table, overrides, migration, whole-or-nothing output, bad input."""

from __future__ import annotations

import datetime as dt
import hashlib

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from creditgrade.features import contract as C
from creditgrade.features.pipeline import read_features
from creditgrade.features.whatif import RecordChange
from creditgrade.models import grades as G
from creditgrade.serving import batch
from creditgrade.serving.batch import DATABASE, GRADED, GradingError, grade_city
from creditgrade.serving.cli import app

runner = CliRunner()


def test_every_enterprise_is_graded_once_with_all_columns(graded_city):
    table = pq.read_table(graded_city.latest / GRADED).to_pandas()
    day = graded_city.days[-1]
    feats = read_features(graded_city.features, as_of=[day], columns=["uscc"]).to_pandas()
    assert sorted(table.uscc) == sorted(feats.uscc) and table.uscc.is_unique
    expected = {
        "uscc",
        "name",
        "region_code",
        "district_zh",
        "district_en",
        "industry_section",
        "industry_zh",
        "industry_en",
        "probability",
        "score",
        "grade_shenzhen",
        "grade_shenzhen_fixed",
        "grade_pingshan",
        "grade_national",
        "override_effect",
        "grade_shenzhen_by_score",
        "grade_national_by_score",
        "override_rule",
        "override_zh",
        "override_en",
        "override_source",
        "points_d1",
        "points_d2",
        "points_d3",
        "points_d4",
        "points_d5",
        "reasons",
        "model_version",
        "catalog_version",
        "as_of",
    }
    assert expected <= set(table.columns)
    assert table.probability.between(0, 1).all() and table.score.between(0, 1000).all()
    assert (table.as_of == np.datetime64(day)).all() and table.model_version.str.startswith(
        "enterprise-credit-risk/"
    ).all()
    with_reasons = table.reasons.map(len)
    assert with_reasons.between(1, 5).all()
    first = table.reasons.iloc[0][0]
    assert set(first) == {"indicator", "value", "points", "zh", "en"} and first["zh"] and first["en"]
    with duckdb.connect(str(graded_city.latest / DATABASE), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM graded").fetchone()[0] == len(table)
        assert con.execute("SELECT count(*) FROM indicators").fetchone()[0] == len(table)


def test_grades_follow_scores_except_where_an_override_rule_applies(graded_city):
    table = pq.read_table(graded_city.latest / GRADED).to_pandas()
    schemes = graded_city.loaded.schemes
    by_score = G.score_to_grade(table.score.to_numpy(), schemes["shenzhen"])
    plain = table.override_rule.isna()
    assert (table.grade_shenzhen[plain] == by_score[plain]).all()
    closed = table.register_status.isin(["revoked", "struck_off", "ordered_closed", "suspended"])
    assert closed.any() and (table.grade_shenzhen[closed] == "E").all() and (table.grade_national[closed] == "D").all()
    assert table.override_source[closed].str.contains("enterprises:").all()
    assert (table.grade_shenzhen[plain] != "E").all()
    ranks = G.grade_rank(table.grade_shenzhen, schemes["shenzhen"])
    assert (ranks[~plain] >= G.grade_rank(by_score[~plain], schemes["shenzhen"])).all()  # never better


def test_the_published_shares_count_operating_enterprises_and_the_closed_ones_apart(graded_city):
    table = pq.read_table(graded_city.latest / GRADED).to_pandas()
    s = graded_city.summary
    operating = table.register_status == "active"
    assert s.operating == operating.sum() and s.enterprises == len(table)
    assert s.not_operating == table.register_status[~operating].value_counts().to_dict() and s.not_operating
    for name, counts in s.grades.items():
        assert counts == table[f"grade_{name}"][operating].value_counts().reindex(counts, fill_value=0).to_dict()
    assert s.grades["shenzhen"].get("E", 0) == (table.grade_shenzhen[operating] == "E").sum()
    assert s.overrides == (table.override_rule.notna() & operating).sum()


def test_no_person_identifier_reaches_the_graded_table(graded_city):
    people = set()
    for t in C.TABLES:
        person_cols = [c.name for c in t.columns if c.person_identifier]
        if person_cols:
            frame = pq.read_table(graded_city.clean / f"{t.name}.parquet", columns=person_cols).to_pandas()
            for c in person_cols:
                people |= set(frame[c].dropna().astype(str))
    people -= set(pq.read_table(graded_city.clean / "enterprises.parquet", columns=["uscc"]).column("uscc").to_pylist())
    assert people, "the contract should mark person-identifier columns"  # (a shareholder may be an enterprise)
    table = pq.read_table(graded_city.latest / GRADED)
    for name in table.column_names:
        if table.schema.field(name).type == "string":
            assert not people & set(table.column(name).to_pylist()), name


def test_migration_against_last_month_accounts_for_every_enterprise(graded_city):
    m = graded_city.summary.migration
    total = sum(sum(row.values()) for row in m["matrix"].values())
    before = pq.read_table(graded_city.graded / str(graded_city.days[1]) / GRADED, columns=["uscc"]).num_rows
    after = pq.read_table(graded_city.latest / GRADED, columns=["uscc"]).num_rows
    assert total == before + m["entered"] and total == after + m["left"]
    assert m["psi_score"] >= 0


def test_a_rerun_writes_the_same_table_and_a_failed_run_leaves_the_last_one(graded_city, tmp_path, monkeypatch):
    day = graded_city.days[-1]
    out = tmp_path / "again"
    grade_city(graded_city.features, out, graded_city.loaded, as_of=day)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(out / GRADED) == digest(graded_city.latest / GRADED)

    def broken(*args, **kwargs):
        raise RuntimeError("killed while writing the database")

    monkeypatch.setattr(batch.duckdb, "connect", broken)
    with pytest.raises(RuntimeError):
        grade_city(graded_city.features, out, graded_city.loaded, as_of=day, overwrite=True)
    assert digest(out / GRADED) == digest(graded_city.latest / GRADED)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]  # no partial folder left behind


def test_bad_input_is_refused_with_a_clear_message(graded_city, tmp_path):
    with pytest.raises(GradingError, match="holds no rows as of 2019-12-31"):
        grade_city(graded_city.features, tmp_path / "g", graded_city.loaded, as_of=dt.date(2019, 12, 31))
    with pytest.raises(GradingError, match="is not a graded table"):
        grade_city(graded_city.features, tmp_path / "g", graded_city.loaded, previous=graded_city.features)
    assert not (tmp_path / "g").exists()


def test_the_grade_command(graded_city, tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    result = runner.invoke(
        app,
        [
            "grade",
            "--features",
            str(graded_city.features),
            "--out",
            str(tmp_path / "g"),
            "--previous",
            str(graded_city.latest),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Graded" in result.output and "against last month" in result.output
    result = runner.invoke(app, ["grade", "--features", str(graded_city.features), "--out", str(tmp_path / "g")])
    assert result.exit_code == 2 and "already exists" in result.output


def test_plots_and_the_explain_command(graded_city, tmp_path, monkeypatch):
    plots = graded_city.latest / "plots"
    assert (plots / "shap_beeswarm.png").stat().st_size > 10_000
    assert (plots / "dimension_importance.png").stat().st_size > 5_000
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    uscc = pq.read_table(graded_city.latest / GRADED, columns=["uscc"]).column("uscc")[0].as_py()
    result = runner.invoke(
        app, ["explain", uscc, "--graded", str(graded_city.graded), "--out", str(tmp_path / "w.png")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "w.png").stat().st_size > 10_000 and "grade" in result.output
    table = pq.read_table(
        graded_city.latest / GRADED, columns=["uscc", "override_rule", "grade_shenzhen", "grade_shenzhen_by_score"]
    ).to_pandas()
    moved = table[table.override_rule.notna()].iloc[0]
    result = runner.invoke(
        app, ["explain", moved.uscc, "--graded", str(graded_city.graded), "--out", str(tmp_path / "m.png")]
    )
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and f"by score alone: grade {moved.grade_shenzhen_by_score}" in text
    assert "source record" in text and moved.grade_shenzhen in text
    plain = table[table.override_rule.isna()]
    assert (plain.grade_shenzhen == plain.grade_shenzhen_by_score).all()
    result = runner.invoke(app, ["explain", "91440300MA5DC1YU4Q", "--graded", str(graded_city.graded)])
    assert result.exit_code == 2 and "no graded enterprise" in result.output


def test_whatif_by_record_recomputes_indicators_and_lifts_the_rule_its_record_caused(graded_city, monkeypatch):
    table = pq.read_table(graded_city.latest / GRADED).to_pandas()
    moved = table[
        (table.register_status == "active")
        & table.override_rule.isin(["special_list", "bank_mortgage_enforced", "major_accident"])
        & ~table.override_source.str.contains(";", na=True)
    ].iloc[0]
    source = moved.override_source.split("@")[0]
    r = batch.whatif_by_record(
        graded_city.clean, graded_city.latest, moved.uscc, [RecordChange.parse("remove", source)], graded_city.loaded
    )
    assert r.before["score"] == pytest.approx(moved.score, abs=0.05)  # recomputed from the records: as graded
    assert r.before["grades"]["shenzhen"] == moved.grade_shenzhen and r.before["override_rule"] == moved.override_rule
    assert r.after["override_rule"] is None
    assert r.after["grades"]["shenzhen"] == r.after["grades_by_score"]["shenzhen"]

    penalties = pq.read_table(graded_city.clean / "penalties.parquet").to_pandas()
    day = np.datetime64(graded_city.days[-1])
    repaired = set(pq.read_table(graded_city.clean / "credit_repairs.parquet").column("repaired_record_id").to_pylist())
    recent = penalties[(penalties.decision_date.astype("datetime64[ns]") <= day) & ~penalties.penalty_id.isin(repaired)]
    recent = recent.sort_values("decision_date")
    recent = recent[recent.uscc.isin(table.uscc[table.register_status == "active"])].iloc[-1]
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(graded_city.mlruns))
    args = ["whatif", recent.uscc, "--data", str(graded_city.clean), "--graded", str(graded_city.graded)]
    result = runner.invoke(app, [*args, "--repair", f"penalties:{recent.penalty_id}"])
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "before" in text and "after" in text and "penalties" in text.lower()
    r = batch.whatif_by_record(
        graded_city.clean,
        graded_city.latest,
        recent.uscc,
        [RecordChange.parse("repair", f"penalties:{recent.penalty_id}")],
        graded_city.loaded,
    )
    assert {m["id"] for m in r.indicators} >= {"d3_penalties_36m", "d3_repairs_36m"}
    assert r.after["score"] >= r.before["score"]  # a repair never costs points
    result = runner.invoke(app, [*args, "--remove", "penalties:NO-SUCH-RECORD"])
    assert result.exit_code == 2 and "no record NO-SUCH-RECORD" in result.output


def unchanged_count(scoring, x, now) -> int:
    view = scoring.explainer().model_view
    return int((view(now) == view(x)).all(axis=1).sum())


def test_reused_explanations_give_the_table_a_full_run_gives_byte_for_byte(graded_city, tmp_path):
    """Last month's explanations reused for the enterprises the model sees unchanged: the same table, to the
    byte, as explaining every enterprise — on a month where everyone is a month older and a known 5% of
    enterprises entered the abnormal-operation list."""
    import io

    from creditgrade.features.overrides import OVERRIDE_COLUMNS

    scoring, day = graded_city.loaded, graded_city.days[-1]
    features = scoring.model.features
    frame = read_features(graded_city.features, as_of=[day], columns=batch.ID_COLUMNS + list(OVERRIDE_COLUMNS))
    frame = frame.to_pandas().sort_values("uscc", kind="stable").reset_index(drop=True)
    x = read_features(graded_city.features, as_of=[day], columns=["uscc", *features]).to_pandas()
    x = x.set_index("uscc").loc[frame.uscc, list(features)].to_numpy(dtype=np.float64)
    last = batch.graded_table(frame, x, scoring, day)
    now = x.copy()
    now[:, features.index("d1_age_years")] += 1 / 12
    hit = np.random.default_rng(3).random(len(now)) < 0.05
    now[hit, features.index("d3_abnormal_current")] = 1.0  # entered the abnormal-operation list

    full = batch.graded_table(frame, now, scoring, day, plots=tmp_path / "full")
    reused = batch.graded_table(frame, now, scoring, day, plots=tmp_path / "reused", previous=last)

    def parquet(table):  # as grade_city writes it (the count of reused explanations goes to the summary)
        out = io.BytesIO()
        pq.write_table(table.replace_schema_metadata(None), out, compression="zstd")
        return out.getvalue()

    assert [c for c in full.column_names if not full[c].equals(reused[c])] == []
    assert int(reused.schema.metadata[batch.REUSED_META]) == int(unchanged_count(scoring, x, now))
    assert full.equals(reused) and parquet(full) == parquet(reused)
    for png in ("shap_beeswarm.png", "dimension_importance.png"):
        assert (tmp_path / "full" / png).read_bytes() == (tmp_path / "reused" / png).read_bytes()
    view = scoring.explainer().model_view
    unchanged = (view(now) == view(x)).all(axis=1)
    listed = hit & (x[:, features.index("d3_abnormal_current")] == 0)
    assert 0.5 < unchanged.mean() < 0.95 and not unchanged[listed].any()  # every newly listed one explained
    reasons = full["reasons"].to_pylist()
    aged = next(i for i in np.flatnonzero(unchanged) if any(r["indicator"] == "d1_age_years" for r in reasons[i]))
    age = next(r for r in reasons[aged] if r["indicator"] == "d1_age_years")
    assert age["value"] == now[aged, features.index("d1_age_years")]  # a reused reason tells this month's age


@pytest.mark.parametrize("chunked", [False, True])
def test_last_months_rows_are_found_by_merge_or_by_hash(chunked):
    import pyarrow as pa

    def array(values):
        return pa.chunked_array([values[:2], values[2:]]) if chunked else pa.array(values)

    this, last = ["91A", "91C", "91D", "91Z"], ["91B", "91C", "91D", "91E"]
    assert batch._rows_in(array(this), array(last)).tolist() == [-1, 1, 2, -1]  # both sorted: one merge
    unsorted = ["91D", "91C", "91B", "91E"]
    assert batch._rows_in(array(this), array(unsorted)).tolist() == [-1, 1, 0, -1]  # not sorted: by hash
    assert batch._rows_in(array(["91AB", "91ABC"]), array(["91A", "91ABC"])).tolist() == [-1, 1]  # prefixes


def test_the_explanations_file_holds_the_graded_tables_explanations_as_codes(graded_city):
    """A month's explanations file (what next month's run reuses, mapped) holds the same rows as its graded
    table, the reason texts as codes into one dictionary per field."""
    import pyarrow as pa

    folder = graded_city.root / "graded" / str(graded_city.days[-1])
    mapped = batch.read_explained(folder)
    table = batch.read_explained(folder / GRADED)  # a file: read from the graded table itself
    assert mapped.column_names == table.column_names and mapped.num_rows == table.num_rows > 0
    for name in mapped.column_names:
        assert mapped[name].to_pylist() == table[name].to_pylist(), name
    reasons = mapped["reasons"].combine_chunks().flatten()
    assert all(pa.types.is_dictionary(reasons.field(f).type) for f in ("indicator", "zh", "en"))
    assert len(reasons.field("zh").dictionary) < len(reasons) / 10  # a few distinct texts, many reasons


@pytest.mark.parametrize("cuts", [[], [1], [7, 150], [99, 100, 101]])
def test_the_explanations_file_has_the_same_bytes_however_its_rows_arrive(graded_city, tmp_path, cuts):
    """Codes are numbered in order of first appearance across fixed groups of rows (dictionary deltas), so
    the file depends on the rows alone, as the graded table's files do; read back it holds the same values."""
    rows = pq.read_table(graded_city.root / "graded" / str(graded_city.days[-1]) / GRADED).slice(0, 400)
    bounds = [0, *cuts, rows.num_rows]
    written = []
    for k, parts in enumerate(([rows], [rows.slice(a, b - a) for a, b in zip(bounds, bounds[1:])])):
        path = tmp_path / f"{k}.arrow"
        with batch.RowGroups(path, "arrow", 64, batch.Encoder(batch.EXPLAINED_CODES)) as out:
            for part in parts:
                out.add(part.select(batch.explained_columns(part.column_names)))
        written.append(path.read_bytes())
    assert written[0] == written[1]
    back = pa_read(tmp_path / "1.arrow")
    assert back["reasons"].to_pylist() == rows["reasons"].to_pylist()
    assert back["model_version"].to_pylist() == rows["model_version"].to_pylist()


def pa_read(path):
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(path))).read_all()
