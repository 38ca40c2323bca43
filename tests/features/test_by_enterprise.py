"""The records sorted by enterprise: every lookup returns exactly the rows a filter of the clean tables gives."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from creditgrade.features.by_enterprise import FOLDER, LINKS, Records, copy_for
from creditgrade.features.city.simulate import CityConfig, simulate_city
from creditgrade.features.contract import TABLES
from creditgrade.features.errors import NotFound
from creditgrade.features.ingest import ingest


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    root = tmp_path_factory.mktemp("by_enterprise")
    simulate_city(CityConfig(enterprises=3000, seed=29), root / "raw")
    ingest(root / "raw", root / "clean")
    return root / "clean"


def _filtered(clean, table: str, column: str, values: list[str]) -> list[dict]:
    con = duckdb.connect()
    con.register("wanted", pa.table({"v": values}))
    rows = con.sql(
        f"SELECT * FROM read_parquet('{clean / f'{table}.parquet'}') WHERE {column} IN (SELECT v FROM wanted)"
    ).to_arrow_table()
    return sorted(rows.to_pylist(), key=repr)


def test_every_table_and_link_gives_the_rows_the_clean_files_give(clean):
    reader = Records(clean)
    members = [u for (u,) in duckdb.sql(f"SELECT uscc FROM read_parquet('{clean / 'enterprises.parquet'}') "
                                         "USING SAMPLE 40 ROWS (reservoir, 3)").fetchall()]  # fmt: skip
    unknown = ["91440300MA5DC1YU4Q", "x" * 40, ""]  # not on the register; longer than any key; empty
    for t in TABLES:
        got = reader.rows(t.name, members + unknown)
        assert sorted(got.to_pylist(), key=repr) == _filtered(clean, t.name, "uscc", members), t.name
        assert got.column("uscc").to_pylist() == sorted(got.column("uscc").to_pylist())  # by USCC
    for name, (table, key, columns) in LINKS.items():
        values = [
            v
            for (v,) in duckdb.sql(
                f"SELECT DISTINCT {key} FROM read_parquet('{clean / f'{table}.parquet'}') WHERE {key} IS NOT NULL "
                "ORDER BY hash(" + key + ") LIMIT 25"
            ).fetchall()
        ]
        got = sorted(reader.rows(name, values).to_pylist(), key=repr)
        want = sorted({tuple(r[c] for c in columns) for r in _filtered(clean, table, key, values)})
        assert [tuple(r[c] for c in columns) for r in got] == want, name
    assert reader.rows("penalties", []).num_rows == 0 and reader.rows("penalties", unknown).num_rows == 0


def test_the_neighbourhood_and_an_unknown_enterprise(clean):
    reader = Records(clean)
    ((uscc, address),) = duckdb.sql(
        f"SELECT uscc, address_id FROM read_parquet('{clean / 'enterprises.parquet'}') WHERE address_id IN "
        f"(SELECT address_id FROM read_parquet('{clean / 'enterprises.parquet'}') GROUP BY 1 HAVING count(*) > 1) "
        "ORDER BY uscc LIMIT 1"
    ).fetchall()
    at_address = {r["uscc"] for r in _filtered(clean, "enterprises", "address_id", [address])}
    found = reader.neighbourhood(uscc)
    assert at_address <= set(found) and uscc in found and found == sorted(found)
    with pytest.raises(NotFound, match="is not on the register"):
        reader.neighbourhood("91440300MA5DC1YU4Q")


def test_the_copy_is_written_once_and_again_when_the_records_change(clean):
    first = copy_for(clean)
    assert copy_for(clean) == first and first.parent.name == FOLDER
    (clean / "awards.parquet").touch()  # the records changed (a new extraction): a new copy, the old removed
    second = copy_for(clean)
    assert second != first and second.is_dir() and not first.exists()
