"""The words of a refusal (issue 9.11): long values shortened, ranges said naturally.

The command-line side (every group's `Error:`/`Next:` lines and exit status) is tested end
to end in tests/e2e/test_error_style_cli.py.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from itb.errors import MAX_ECHO_CHARS, InvalidInput, shorten
from itb.therapy.units import exact, in_range, range_words


def test_a_100_digit_number_is_shortened_to_its_start_and_length() -> None:
    assert shorten("9" * 100) == "9" * 20 + "… (100 characters)"


def test_a_value_up_to_the_limit_is_shown_whole() -> None:
    value = "x" * MAX_ECHO_CHARS
    assert shorten(value) == value and shorten(Fraction(1, 3)) == "1/3"


def test_a_file_path_is_shown_whole_so_the_file_can_be_found() -> None:
    path = "/tmp/" + "clinic-folder/" * 6 + "session.jsonl"
    assert len(path) > MAX_ECHO_CHARS
    assert shorten(path) == path and shorten(Path(path)) == path
    assert shorten(f"{path} line 3") == f"{path} line 3"
    # A dose with a unit is not a path, and a fraction is not either.
    assert "characters)" in shorten("9" * 100 + " mcg/day at 500 mcg/mL")
    assert "characters)" in shorten("1/" + "3" * 100)


def test_invalid_input_echoes_a_long_value_shortened_but_keeps_it_whole() -> None:
    error = InvalidInput("daily dose", "9" * 100, "0 to 1000 mcg/day")
    assert str(error) == ("daily dose = 99999999999999999999… (100 characters) is not allowed: "
                          "allowed is 0 to 1000 mcg/day")
    assert error.value == "9" * 100


def test_overlong_number_text_is_refused_with_its_length() -> None:
    with pytest.raises(InvalidInput) as refused:
        exact("dose", "1" * 500)
    assert "… (500 characters)" in str(refused.value) and "1" * 30 not in str(refused.value)


@pytest.mark.parametrize(("low", "high", "low_inclusive", "words"), [
    (0, None, False, "more than 0 mcg"),
    (0, None, True, "0 mcg or more"),
    (None, 20, True, "at most 20 mcg"),
    (0, 20, True, "0 to 20 mcg"),
    (0, 20, False, "more than 0 to 20 mcg"),
    (None, None, True, "any number"),
])
def test_ranges_are_said_as_a_clinician_would(low: int | None, high: int | None,
                                              low_inclusive: bool, words: str) -> None:
    lo = None if low is None else Fraction(low)
    hi = None if high is None else Fraction(high)
    assert range_words(lo, hi, " mcg", low_inclusive=low_inclusive) == words


def test_an_open_ended_refusal_says_more_than_0_not_to_no_upper_limit() -> None:
    with pytest.raises(InvalidInput) as refused:
        in_range("concentration", "0", 0, None, "mcg/mL", low_inclusive=False)
    assert str(refused.value).endswith("allowed is more than 0 mcg/mL")


bounds = st.none() | st.fractions(min_value=-1000, max_value=1000)


@given(low=bounds, high=bounds, low_inclusive=st.booleans())
def test_range_words_never_say_no_upper_limit_or_minus_infinity(
        low: Fraction | None, high: Fraction | None, low_inclusive: bool) -> None:
    words = range_words(low, high, " mL", low_inclusive=low_inclusive)
    assert "no upper limit" not in words and "-inf" not in words and words
