"""The regression design matrix refuses a text covariate that mixes numbers and text.

An age column with one mistyped value ("50", "61", "x", ...) read from a file is text, and
a text column is modelled as categories (R's ``factor``): every distinct age would get a
dummy and the "age effect" would be nonsense or the fit singular. remission refuses such
a column in every model that uses :func:`remission.stats.design.design` (Cox, Fine-Gray,
logistic) with one InputError per column; categories meant as such are passed as a
pandas ``Categorical``. Expected values below are by hand (R ``model.matrix`` naming:
``{column}{level}``, first sorted level the reference).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from remission import regression, survival
from remission.errors import InputError
from remission.stats.design import design

AGES = ["50", "61", "x", "70", "44", "58", "67", "39", "55", "72"]
D = pd.DataFrame({"t": [5.0, 8, 3, 12, 7, 9, 2, 15, 6, 11], "e": [1, 0, 1, 1, 0, 1, 1, 0, 1, 0],
                  "s": [1, 0, 2, 1, 0, 2, 1, 0, 1, 2], "cr": [1, 0, 1, 0, 1, 1, 0, 0, 1, 0],
                  "age": AGES, "grade": ["1", "2", "NE", "1", "3", "2", "NE", "1", "2", "3"]})

CALLS = {
    "cox": lambda d, cov: survival.cox("t", "e", cov, data=d),
    "fine_gray": lambda d, cov: survival.fine_gray("t", "s", cov, data=d),
    "logistic": lambda d, cov: regression.logistic(d, "cr", cov),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_mixed_numbers_and_text_are_refused_per_column(name: str) -> None:
    with pytest.raises(InputError) as ei:
        CALLS[name](D, ["age", "grade"])
    probs = ei.value.problems
    assert [p.column for p in probs] == ["age", "grade"]
    assert "numbers (9 values) and text (1 value: 'x')" in probs[0].message
    assert "numbers (8 values) and text (2 values: 'NE')" in probs[1].message
    assert "Categorical" in probs[0].expected


def test_declared_categories_numbers_as_text_and_words_are_factors() -> None:
    d = D.assign(grade=pd.Categorical(D["grade"]), age=[50, 61, 66, 70, 44, 58, 67, 39, 55, 72])
    x, names, terms = design(d, ["age", "grade"])
    assert names == ["age", "grade2", "grade3", "gradeNE"]  # "1" is the reference
    assert terms == {"age": [0], "grade": [1, 2, 3]}
    assert x[2].tolist() == [66.0, 0.0, 0.0, 1.0]  # patient 3: grade NE
    # all numbers-as-text, or all words: R's factor, as before
    _, names, _ = design(pd.DataFrame({"dose": ["1", "2", "3", "1"],
                                       "arm": ["B", "A", "B", "A"]}), ["dose", "arm"])
    assert names == ["dose2", "dose3", "armB"]
    # a missing value is not text (check_frame reports or omits it)
    x, names, _ = design(pd.DataFrame({"arm": ["B", None, "A"]}), ["arm"])
    assert names == ["armB"] and np.array_equal(x[:, 0], [1.0, 0.0, 0.0])


@pytest.mark.parametrize("fn", ["logistic", "logistic_univariable"])
def test_one_covariate_name_is_a_list_of_one_in_logistic_as_in_cox(fn: str) -> None:
    # was read letter by letter: "column 'a' not found" (logistic), KeyError (univariable)
    d = D.assign(age=[50, 61, 66, 70, 44, 58, 67, 39, 55, 72])
    one, listed = getattr(regression, fn)(d, "cr", "age"), getattr(regression, fn)(d, "cr",
                                                                                    ["age"])
    pd.testing.assert_frame_equal(one.table, listed.table)
    assert "age" in one.table.index[0]
    cox_one = survival.cox("t", "e", "age", data=d).table
    pd.testing.assert_frame_equal(cox_one, survival.cox("t", "e", ["age"], data=d).table)


def test_logistic_univariable_names_every_absent_column() -> None:
    # was a KeyError "['nope'] not in index" from the first absent covariate
    with pytest.raises(InputError) as ei:
        regression.logistic_univariable(D, "cr", ["nope", "t", "also_absent"])
    assert [p.column for p in ei.value.problems] == ["nope", "also_absent"]
