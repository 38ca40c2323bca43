"""The targeted-check list: ranked, clustered, explained in both languages, no person identifiers."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from creditgrade.features.errors import CreditgradeError
from creditgrade.serving.cli import app
from creditgrade.serving.falsereg import ranked
from creditgrade.training.falsereg import train_falsereg


@pytest.fixture(scope="module")
def model(graded_city):
    return train_falsereg(graded_city.features, graded_city.clean, graded_city.days[2], register=False).model


def test_the_list_is_ranked_with_clusters_matching_the_features(graded_city, model):
    day = graded_city.days[2]
    t = ranked(graded_city.features, graded_city.clean, day, model, top=200).to_pandas()
    assert t["rank"].tolist() == list(range(1, 201)) and t.score.is_monotonic_decreasing
    f = pd.read_parquet(
        graded_city.features, columns=["uscc", "as_of", "fr_cluster_size"], filters=[("as_of", "=", day)]
    ).set_index("uscc")
    assert (t.cluster_size.to_numpy() == f.loc[t.uscc, "fr_cluster_size"].to_numpy()).all()
    assert t.reasons_zh.str.len().gt(0).all() and t.reasons_en.str.len().gt(0).all()
    people = pq.read_table(graded_city.clean / "enterprises.parquet", columns=["legal_rep_id", "phone_id"]).to_pandas()
    text = t.to_csv()
    assert not any(v in text for v in set(people.legal_rep_id.dropna()) | set(people.phone_id.dropna()))


def test_whole_clusters_are_listed_together(graded_city, model):
    t = ranked(graded_city.features, graded_city.clean, graded_city.days[2], model, top=50, by_cluster=True).to_pandas()
    assert len(t) >= 50
    starts = t.cluster_id.ne(t.cluster_id.shift())
    assert starts.sum() == t.cluster_id.nunique()  # each cluster in one run of rows
    with pytest.raises(CreditgradeError, match="top must be a positive"):
        ranked(graded_city.features, graded_city.clean, graded_city.days[2], model, top=0)


def test_cli_anomaly_only_needs_no_model(graded_city, tmp_path, monkeypatch):
    monkeypatch.setenv("CREDITGRADE_MLRUNS", str(tmp_path / "mlruns"))
    common = [
        "falsereg",
        "list",
        "--features",
        str(graded_city.features),
        "--data",
        str(graded_city.clean),
        "--top",
        "30",
        "--out",
        str(tmp_path / "out"),
    ]
    r = CliRunner().invoke(app, common)
    assert r.exit_code == 2 and "falsereg train" in " ".join(
        r.output.split()
    )  # no registered model: says how to get one
    r = CliRunner().invoke(app, [*common, "--anomaly-only"])
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(tmp_path / "out" / "list.csv")) == 30


def test_a_listed_cluster_is_joined_by_its_links(graded_city, model):
    from creditgrade.features.indicators.false_registration import cluster_links

    t = ranked(graded_city.features, graded_city.clean, graded_city.days[2], model, top=20, by_cluster=True).to_pandas()
    big = t[t.cluster_size > 1].cluster_id.iloc[0]
    members = t[t.cluster_id == big].uscc.tolist()
    links = cluster_links(pq.read_table(graded_city.clean / "enterprises.parquet"), members)
    assert {u for u, _ in links} <= set(members) and {k.split(":")[0] for _, k in links} <= {
        "person",
        "address",
        "phone",
        "agent",
    }
    assert len(members) == 1 or all(any(u == m for u, _ in links) for m in members)
