"""What-if by record on the town: removing or repairing a record moves every indicator and rule it feeds."""

from __future__ import annotations

import datetime as dt

import pytest

from creditgrade.features import catalog
from creditgrade.features.errors import NotFound
from creditgrade.features.overrides import OVERRIDE_COLUMNS
from creditgrade.features.pipeline import connect, load_raw
from creditgrade.features.whatif import (
    RecordChange,
    WhatIfError,
    feature_row,
    local_records,
    scenario_rows,
    what_if,
)
from tests.features.town import E1, E2, E3, write_town

DAY = dt.date(2024, 12, 31)


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    return load_raw(connect(), write_town(tmp_path_factory.mktemp("town")))


def test_removing_a_penalty_moves_every_penalty_indicator(raw):
    before, after = what_if(raw, DAY, E1, [RecordChange.parse("remove", "penalties:PN1")])
    assert before["d3_penalties_12m"] == 1 and after["d3_penalties_12m"] == 0
    assert after["d3_penalties_36m"] == before["d3_penalties_36m"] - 1
    assert after["d3_penalty_amount_36m_log"] < before["d3_penalty_amount_36m_log"]
    assert after["d3_days_since_penalty"] > before["d3_days_since_penalty"]  # the latest is now PN2, older
    assert after["d1_age_years"] == before["d1_age_years"]


def test_repairing_a_listing_stops_it_counting_and_removing_the_source_of_a_rule_lifts_it(raw):
    before, after = what_if(raw, DAY, E1, [RecordChange.parse("repair", "abnormal_list:AB1")])
    assert before["d3_abnormal_current"] == 1 and after["d3_abnormal_current"] == 0
    assert after["d3_repairs_36m"] == before["d3_repairs_36m"] + 1
    assert before["override_rule"] == "bank_mortgage_enforced"
    _, lifted = what_if(raw, DAY, E1, [RecordChange.parse("remove", "chattel_mortgages:M1")])
    assert lifted["override_rule"] is None and lifted["override_effect"] is None
    before, after = what_if(raw, DAY, E3, [RecordChange.parse("repair", "serious_violations:SV1")])
    assert before["d3_serious_current"] == 1 and after["d3_serious_current"] == 0
    assert after["override_rule"] == before["override_rule"] == "special_list"  # a different record's rule stays


def test_changes_that_cannot_be_made_are_refused_with_the_reason(raw):
    with pytest.raises(WhatIfError, match="not one of"):
        what_if(raw, DAY, E2, [RecordChange.parse("remove", "penalties:PN1")])
    with pytest.raises(NotFound, match="no record PN9"):
        what_if(raw, DAY, E1, [RecordChange.parse("remove", "penalties:PN9")])
    with pytest.raises(WhatIfError, match="cannot be repaired"):
        RecordChange.parse("repair", "chattel_mortgages:M1")
    with pytest.raises(WhatIfError, match="TABLE:RECORD_ID"):
        RecordChange.parse("remove", "PN1")
    with pytest.raises(WhatIfError, match="no records one can remove"):
        RecordChange.parse("remove", "enterprises:" + E1)
    with pytest.raises(WhatIfError, match="no record to remove"):
        what_if(raw, DAY, E1, [])


def test_every_scenario_of_the_neighbourhood_equals_the_full_town_what_if(raw, tmp_path):
    """The fast path (the enterprise's neighbourhood, every scenario in one run) gives the rows the full
    pipeline gives on the whole town, for each change and for several changes at once."""
    folder = write_town(tmp_path / "town")
    changes = {
        E1: [
            [RecordChange.parse("remove", "chattel_mortgages:M1")],
            [RecordChange.parse("remove", "penalties:PN1"), RecordChange.parse("repair", "abnormal_list:AB1")],
        ],
        E3: [[RecordChange.parse("repair", "serious_violations:SV1")]],
    }
    wanted = [*catalog.RISK_IDS, *OVERRIDE_COLUMNS]
    for uscc, scenarios in changes.items():
        rows = scenario_rows(local_records(folder, DAY, uscc), DAY, uscc, [[], *scenarios])
        full = feature_row(raw, DAY, uscc)
        assert [rows[0][c] for c in wanted] == [full[c] for c in wanted]
        for row, made in zip(rows[1:], scenarios):
            _, after = what_if(raw, DAY, uscc, made)
            assert [row[c] for c in wanted] == [after[c] for c in wanted], made


def test_the_neighbourhood_refuses_a_record_of_another_enterprise_and_an_unknown_enterprise(tmp_path):
    folder = write_town(tmp_path / "town")
    local = local_records(folder, DAY, E1)
    with pytest.raises(WhatIfError, match=f"is not one of {E1}'s records"):
        scenario_rows(local, DAY, E1, [[RecordChange.parse("repair", "serious_violations:SV1")]])  # E3's
    with pytest.raises(NotFound, match="is not on the register"):
        local_records(folder, DAY, "91440300MA5DC1YU4Q")
