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
from itb.therapy.units import NL_PER_ML, ExactLike, display, in_range, to_exact_str

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


# Diluents accepted for a prescribed dilution: the labels' diluent only (see DILUENT).
ACCEPTED_DILUENTS: tuple[str, ...] = ("preservative-free 0.9% sodium chloride",)


@dataclass(frozen=True)
class PrescribedDilution:
    """A compounded strength declared at a refill: what it was made from and with what."""

    concentration_mcg_per_ml: Fraction
    stock_brand: str
    stock_mcg_per_ml: Fraction
    diluent: str

    def to_json(self) -> dict[str, str]:
        return {"concentration_mcg_per_ml": to_exact_str(self.concentration_mcg_per_ml),
                "stock": self.stock_brand,
                "stock_mcg_per_ml": to_exact_str(self.stock_mcg_per_ml),
                "diluent": self.diluent}


def prescribed_dilution(*, concentration_mcg_per_ml: ExactLike, stock_brand: str,
                        stock_mcg_per_ml: ExactLike, diluent: str) -> PrescribedDilution:
    """Accept a strength that is not marketed only as a declared dilution of a marketed
    pump-refill strength (not the screening-only one) in the labels' diluent [LIO-AMP]."""
    product = catalogue.find_product(stock_brand, stock_mcg_per_ml)
    if product.screening_only:
        raise InvalidInput("diluted from", f"{display(product.concentration_mcg_per_ml)} mcg/mL",
                           "a pump-refill strength (the 50 mcg/mL product is screening-only)")
    target = in_range("concentration_mcg_per_ml", concentration_mcg_per_ml, 0, None, "mcg/mL",
                      low_inclusive=False)
    if target >= product.concentration_mcg_per_ml:
        raise InvalidInput("concentration_mcg_per_ml", display(target),
                           f"less than the stock {display(product.concentration_mcg_per_ml)} "
                           "mcg/mL", "dilution can only lower the concentration")
    if diluent.strip().lower() not in ACCEPTED_DILUENTS:
        raise InvalidInput("diluent", repr(diluent[:60]), "one of: " + ", ".join(ACCEPTED_DILUENTS))
    return PrescribedDilution(target, product.brand, product.concentration_mcg_per_ml,
                              ACCEPTED_DILUENTS[0])
