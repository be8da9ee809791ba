"""Dilution of a stock strength with preservative-free saline."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itb.errors import InvalidInput
from itb.therapy.dilution import prepare_dilution


def test_1500_from_2000_in_20_ml() -> None:
    recipe = prepare_dilution(target_mcg_per_ml=1500, total_ml=20, stock_mcg_per_ml=2000)
    assert (recipe.stock_ml, recipe.saline_ml) == (15, 5)
    assert recipe.dose_in_total_mcg == 30_000
    assert recipe.stock_is_marketed and "preservative-free" in recipe.diluent


def test_non_terminating_volume_stays_exact() -> None:
    recipe = prepare_dilution(target_mcg_per_ml=100, total_ml=20, stock_mcg_per_ml=300)
    assert recipe.stock_ml == Fraction(20, 3)
    assert not recipe.stock_whole_nl
    assert not recipe.stock_is_marketed


@settings(max_examples=80, deadline=None)
@given(stock=st.sampled_from([500, 1000, 2000, 1500]),
       # Every drawn target is below the stock (no example is thrown away), on a fine grid.
       target=st.integers(min_value=1, max_value=19_999).map(lambda t: Fraction(t, 10)),
       total_ul=st.integers(min_value=1, max_value=40_000))
def test_dilution_mixes_back_to_the_target_exactly(stock: int, target: Fraction,
                                                   total_ul: int) -> None:
    target = target * stock / 2000
    total = Fraction(total_ul, 1000)
    recipe = prepare_dilution(target_mcg_per_ml=target, total_ml=total, stock_mcg_per_ml=stock)
    assert recipe.stock_ml + recipe.saline_ml == total
    assert recipe.stock_ml * stock / total == target


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"target_mcg_per_ml": 2000}, "target_mcg_per_ml"),
    ({"target_mcg_per_ml": 0}, "target_mcg_per_ml"),
    ({"stock_mcg_per_ml": "-5"}, "stock_mcg_per_ml"),
    ({"total_ml": 0}, "total_ml"),
    ({"total_ml": 500}, "total_ml"),
])
def test_dilution_refuses_invalid_input(kwargs: dict, field: str) -> None:
    args = {"target_mcg_per_ml": 1000, "total_ml": 20, "stock_mcg_per_ml": 2000} | kwargs
    with pytest.raises(InvalidInput) as err:
        prepare_dilution(**args)
    assert err.value.field == field
