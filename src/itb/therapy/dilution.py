"""Preparing a prescribed concentration from a stock strength and saline.

For concentrations other than the marketed strengths the drug must be diluted
[LIO-AMP], with sterile preservative-free sodium chloride for injection (the
labels' diluent; CHEO formulary: "may dilute in normal saline without
preservative"). The volumes are exact: stock = total x target / stock strength.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from itb.errors import InvalidInput
from itb.therapy import catalogue
from itb.therapy.units import NL_PER_ML, ExactLike, display, in_range

DILUENT = "sterile preservative-free 0.9% sodium chloride for injection"


@dataclass(frozen=True)
class DilutionRecipe:
    target_mcg_per_ml: Fraction
    total_ml: Fraction
    stock_mcg_per_ml: Fraction
    stock_ml: Fraction  # exact
    saline_ml: Fraction  # exact
    dose_in_total_mcg: Fraction
    diluent: str
    stock_is_marketed: bool

    @property
    def stock_whole_nl(self) -> bool:
        """Whether the stock volume is whole nanolitres (else it is a repeating decimal)."""
        return (self.stock_ml * NL_PER_ML).denominator == 1


def prepare_dilution(*, target_mcg_per_ml: ExactLike, total_ml: ExactLike,
                     stock_mcg_per_ml: ExactLike) -> DilutionRecipe:
    """Volumes of stock and of preservative-free saline that make `total_ml` at the target."""
    stock = in_range("stock_mcg_per_ml", stock_mcg_per_ml, 0, None, "mcg/mL", low_inclusive=False)
    target = in_range("target_mcg_per_ml", target_mcg_per_ml, 0, None, "mcg/mL",
                      low_inclusive=False)
    if target >= stock:
        raise InvalidInput("target_mcg_per_ml", display(target),
                           f"less than the stock strength {display(stock)} mcg/mL",
                           "dilution can only lower the concentration")
    total = in_range("total_ml", total_ml, 0, 100, "mL", low_inclusive=False)
    stock_ml = total * target / stock
    marketed = any(p.concentration_mcg_per_ml == stock for p in catalogue.DRUG_PRODUCTS)
    return DilutionRecipe(target, total, stock, stock_ml, total - stock_ml, total * target,
                          DILUENT, marketed)
