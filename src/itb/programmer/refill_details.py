"""What a refill record holds beyond the volumes, checked before the pump is touched.

Issues 16.14 and 16.16. Pure functions over the clinician's answers and the `PumpView`:
- the strength put in is a marketed pump-refill strength, or a prescribed (compounded)
  dilution declared with its stock strength and diluent (`itb.therapy.dilution`);
- the strength lets the pump deliver the programmed dose: a flow below the pump's minimum
  (device library) is refused, naming the strongest strength that still flows enough;
- the record: the drug's lot number and expiry (an expired drug is refused), the second
  person who checked the strength and the program, the volume withdrawn and the volume
  wasted (the withdrawn residual is discarded, plus any drug drawn up and not injected),
  and the pocket and skin check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from itb.errors import InvalidInput
from itb.programmer.errors import PrescriptionMismatch
from itb.programmer.refill import check_drug, require_prescribed
from itb.programmer.view import PumpView
from itb.therapy.dilution import PrescribedDilution, prescribed_dilution
from itb.therapy.refill import below_minimum_flow
from itb.therapy.units import NL_PER_ML, display, ml_to_nl, to_exact_str

NOT_RECORDED = "not recorded"


def _text(field: str, value: str | None, longest: int) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned or len(cleaned) > longest or not cleaned.isprintable():
        raise InvalidInput(field, repr(value[:40]), f"1 to {longest} printable characters")
    return cleaned


@dataclass(frozen=True)
class RefillDetails:
    lot: str | None
    expiry: date | None
    second_check_by: str | None
    withdrawn_nl: int
    wasted_nl: int
    pocket_skin_check: str | None
    dilution: PrescribedDilution | None

    def to_json(self) -> dict[str, Any]:
        return {
            "lot": self.lot or NOT_RECORDED,
            "expiry": NOT_RECORDED if self.expiry is None else self.expiry.isoformat(),
            "second_check_of_strength_and_program_by": self.second_check_by or NOT_RECORDED,
            "withdrawn_ml": to_exact_str(Fraction(self.withdrawn_nl, NL_PER_ML)),
            "wasted_ml": to_exact_str(Fraction(self.wasted_nl, NL_PER_ML)),
            "pocket_and_skin_check": self.pocket_skin_check or NOT_RECORDED,
            "prescribed_dilution": None if self.dilution is None else self.dilution.to_json(),
        }


def refill_details(*, lot: str | None, expiry: str | None, second_check_by: str | None,
                   wasted_ml: str | None, pocket_skin_check: str | None, withdrawn_nl: int,
                   pump_time: datetime, dilution: PrescribedDilution | None = None
                   ) -> RefillDetails:
    """Validated record fields; an expired drug is refused (it must not go into the pump)."""
    expiry_date = None
    if expiry is not None:
        try:
            expiry_date = date.fromisoformat(expiry.strip())
        except ValueError:
            raise InvalidInput("expiry", repr(expiry[:40]),
                               "a date such as 2027-06-30 (YYYY-MM-DD)") from None
        if expiry_date < pump_time.date():
            raise InvalidInput("expiry", expiry_date.isoformat(),
                               f"{pump_time.date().isoformat()} (the refill date) or later",
                               "expired drug must not be put into the pump")
    # The withdrawn residual is discarded, never returned to the pump: it is wasted at least.
    wasted_nl = withdrawn_nl if wasted_ml is None else ml_to_nl("wasted_ml", wasted_ml)
    if wasted_nl < withdrawn_nl:
        raise InvalidInput("wasted_ml", display(Fraction(wasted_nl, NL_PER_ML)),
                           f"at least the {display(Fraction(withdrawn_nl, NL_PER_ML))} mL "
                           "withdrawn (the residual is discarded)")
    return RefillDetails(_text("lot", lot, 40), expiry_date,
                         _text("second check by", second_check_by, 60), withdrawn_nl,
                         wasted_nl, _text("pocket and skin check", pocket_skin_check, 200),
                         dilution)


def check_strength(brand: str, concentration: str, prescribed: str, diluted_from: str | None,
                   diluent: str | None) -> tuple[Fraction, PrescribedDilution | None]:
    """Step 3: a marketed strength, or a declared prescribed dilution; either must be the
    prescribed concentration (PrescriptionMismatch otherwise)."""
    if diluted_from is None and diluent is None:
        try:
            product = check_drug(brand, concentration, prescribed)
        except PrescriptionMismatch:
            raise
        except InvalidInput as exc:
            if exc.field != "concentration_mcg_per_ml":
                raise
            raise InvalidInput(exc.field, exc.value, exc.allowed,
                               "another strength is a prescribed dilution: declare it with "
                               "--diluted-from and --diluent") from None
        return product.concentration_mcg_per_ml, None
    if diluted_from is None or diluent is None:
        raise InvalidInput("prescribed dilution", "incomplete",
                           "both --diluted-from (the stock strength) and --diluent")
    dilution = prescribed_dilution(concentration_mcg_per_ml=concentration, stock_brand=brand,
                                   stock_mcg_per_ml=diluted_from, diluent=diluent)
    require_prescribed(dilution.concentration_mcg_per_ml, prescribed, "dilution")
    return dilution.concentration_mcg_per_ml, dilution


def check_min_flow(view: PumpView, concentration: Fraction) -> None:
    """Refuse a strength at which the lowest programmed rate is below the pump's minimum
    flow (the pump could not deliver the dose): a lower strength is needed."""
    if view.schedule is not None:
        lowest = min(step.dose_mcg_per_day for step in view.schedule.steps)
    elif view.daily_dose_mcg:
        lowest = view.daily_dose_mcg
    else:
        return
    flag = below_minimum_flow(lowest, concentration,
                              Fraction(view.facts.min_flow_nl_per_day, NL_PER_ML))
    if flag is not None:
        raise InvalidInput("concentration", f"{display(concentration)} mcg/mL",
                           f"at most {display(flag.highest_strength_mcg_per_ml)} mcg/mL for "
                           f"{display(lowest)} mcg/day", flag.sentence())
