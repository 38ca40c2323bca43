"""Scores and grades: the worked example, and the invariants a regulator can defend."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditgrade.models.grades import (
    NATIONAL,
    PINGSHAN,
    SCHEMES,
    SHENZHEN_FIXED,
    GradeScheme,
    grade_rank,
    score_to_grade,
)
from creditgrade.models.scaling import probability_to_score, score_to_probability

probabilities = st.floats(min_value=1e-9, max_value=1 - 1e-9, allow_nan=False)
scores = st.floats(min_value=0, max_value=1000, allow_nan=False)


def test_the_worked_example_of_the_docstring():
    assert probability_to_score(0.2, pdo=60, ref_score=650, ref_odds=4) == pytest.approx(650)
    assert probability_to_score(1 / 9, pdo=60, ref_score=650, ref_odds=4) == pytest.approx(710)
    assert probability_to_score(1 / 3, pdo=60, ref_score=650, ref_odds=4) == pytest.approx(590)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pdo": -2}, "pdo must be a positive number; got -2."),
        ({"ref_odds": 0}, "ref_odds must be a positive number"),
        ({"ref_score": float("nan")}, "ref_score must be a number"),
    ],
)
def test_bad_scaling_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("(", r"\(")):
        probability_to_score(0.2, **kwargs)


def test_shenzhen_published_bands():
    assert score_to_grade([751, 750.9, 671, 670, 601, 600, 555, 554.9], SHENZHEN_FIXED).tolist() == [
        "A+",
        "A",
        "A",
        "B",
        "B",
        "C",
        "C",
        "D",
    ]
    assert "E" not in score_to_grade(np.linspace(0, 1000, 1001), SHENZHEN_FIXED)


@settings(max_examples=300, deadline=None)
@given(a=probabilities, b=probabilities, name=st.sampled_from(sorted(SCHEMES)))
def test_a_higher_probability_never_gives_a_better_grade(a, b, name):
    scheme = SCHEMES[name]
    lo, hi = sorted((a, b))
    g = score_to_grade(probability_to_score([lo, hi]), scheme)
    assert grade_rank([g[1]], scheme)[0] >= grade_rank([g[0]], scheme)[0]


@settings(max_examples=300, deadline=None)
@given(s=scores, name=st.sampled_from(sorted(SCHEMES)))
def test_every_score_maps_to_exactly_one_scored_grade(s, name):
    scheme = SCHEMES[name]
    g = score_to_grade([s], scheme)[0]
    assert g in scheme.scored_grades
    index = scheme.scored_grades.index(g)
    upper = scheme.cuts[index - 1] if index > 0 else np.inf
    lower = scheme.cuts[index] if index < len(scheme.cuts) else -np.inf
    assert lower <= s < upper


@settings(max_examples=200, deadline=None)
@given(p=st.floats(min_value=1e-6, max_value=1 - 1e-6))
def test_score_and_probability_invert(p):
    s = probability_to_score(p)
    if 0 < s < 1000:
        assert score_to_probability(s) == pytest.approx(p, rel=1e-9)


def test_schemes_round_trip_as_data_and_refuse_bad_cuts():
    for s in (PINGSHAN, NATIONAL, SHENZHEN_FIXED):
        assert GradeScheme.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError, match="strictly decrease"):
        NATIONAL.with_cuts([600, 700, 500])
    with pytest.raises(ValueError, match="need 3 cut-points"):
        NATIONAL.with_cuts([600, 500])
    with pytest.raises(ValueError, match="must not be missing"):
        score_to_grade([np.nan], NATIONAL)
