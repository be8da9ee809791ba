"""The drug catalogue holds the labeled strengths (Lioresal, Gablofen) with their sources."""

from fractions import Fraction

import pytest

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.catalogue import find_product, refill_concentrations_mcg_per_ml


@pytest.mark.req("REQ-THER-CATALOGUE")
def test_lioresal_strengths_are_50_500_2000_with_50_for_screening_only() -> None:
    strengths = {p.concentration_mcg_per_ml: p.screening_only for p in catalogue.DRUG_PRODUCTS
                 if p.brand == "Lioresal Intrathecal"}
    assert strengths == {Fraction(50): True, Fraction(500): False, Fraction(2000): False}


def test_gablofen_strengths_include_1000() -> None:
    strengths = {p.concentration_mcg_per_ml: p.screening_only for p in catalogue.DRUG_PRODUCTS
                 if p.brand == "Gablofen"}
    assert strengths == {Fraction(50): True, Fraction(500): False, Fraction(1000): False,
                         Fraction(2000): False}


@pytest.mark.req("REQ-THER-CATALOGUE")
def test_every_product_names_its_source() -> None:
    assert all(p.source for p in catalogue.DRUG_PRODUCTS)


@pytest.mark.req("REQ-THER-CATALOGUE")
def test_refill_concentrations_exclude_screening_strength() -> None:
    assert refill_concentrations_mcg_per_ml() == (Fraction(500), Fraction(1000), Fraction(2000))


def test_find_product_returns_the_entry() -> None:
    assert find_product("Gablofen", "1000").concentration_mcg_per_ml == 1000


@pytest.mark.req("REQ-THER-CATALOGUE")
def test_find_product_refuses_unmarketed_strength_naming_choices() -> None:
    with pytest.raises(InvalidInput) as err:
        find_product("Lioresal Intrathecal", 1000)
    assert err.value.field == "concentration_mcg_per_ml"
    assert "50, 500, 2000" in err.value.allowed


def test_find_product_refuses_unknown_brand() -> None:
    with pytest.raises(InvalidInput) as err:
        find_product("Baclofen Generic", 500)
    assert err.value.field == "brand"


def test_labeled_screening_doses_and_timing() -> None:
    assert catalogue.SCREENING_DOSES_MCG == (50, 75, 100)
    assert catalogue.SCREENING_CONCENTRATION_MCG_PER_ML == 50
    assert catalogue.SCREENING_MIN_INJECTION_S == 60
    assert (catalogue.SCREENING_OBSERVATION_MIN_H, catalogue.SCREENING_OBSERVATION_MAX_H) == (4, 8)
    assert catalogue.SCREENING_INTERVAL_H == 24


def test_labeled_maintenance_ranges() -> None:
    spinal = catalogue.MAINTENANCE[(catalogue.Origin.SPINAL, catalogue.AgeGroup.ADULT)]
    cerebral = catalogue.MAINTENANCE[(catalogue.Origin.CEREBRAL, catalogue.AgeGroup.ADULT)]
    assert (spinal.usual_low_mcg_per_day, spinal.usual_high_mcg_per_day) == (300, 800)
    assert (spinal.reported_low_mcg_per_day, spinal.reported_high_mcg_per_day) == (12, 2003)
    assert (cerebral.usual_low_mcg_per_day, cerebral.usual_high_mcg_per_day) == (90, 703)


def test_stability_limit_is_marked_unconfirmed() -> None:
    assert catalogue.STABILITY_LIMIT_CONFIRMED is False
    assert catalogue.DEFAULT_STABILITY_LIMIT_DAYS == 180
