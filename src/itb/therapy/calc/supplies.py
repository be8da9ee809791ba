"""`itb calc dilution`, `battery` and `drugs`: preparing the drug, the battery forecast and
the marketed strengths."""

from __future__ import annotations

import typer

from itb.therapy import catalogue
from itb.therapy.battery import forecast_battery
from itb.therapy.calc.output import (
    NOW_OPTION,
    Computed,
    calc_command,
    exact_text,
    instant,
    iso,
    shown,
    table_of,
)
from itb.therapy.dilution import prepare_dilution
from itb.therapy.units import SECONDS_PER_DAY, display, exact


@calc_command
def dilution(
    target: str = typer.Option(..., "--target", help="prescribed concentration, mcg/mL"),
    total_ml: str = typer.Option(..., "--total-ml", help="volume to prepare, mL"),
    stock: str = typer.Option(..., "--stock", help="stock concentration, mcg/mL"),
) -> Computed:
    """Volumes of stock and preservative-free saline for a prescribed concentration."""
    recipe = prepare_dilution(target_mcg_per_ml=target, total_ml=total_ml,
                              stock_mcg_per_ml=stock)
    data = {"stock_ml": exact_text(recipe.stock_ml),
            "saline_ml": exact_text(recipe.saline_ml),
            "total_ml": exact_text(recipe.total_ml),
            "target_mcg_per_ml": exact_text(recipe.target_mcg_per_ml),
            "stock_mcg_per_ml": exact_text(recipe.stock_mcg_per_ml),
            "dose_in_total_mcg": exact_text(recipe.dose_in_total_mcg),
            "diluent": recipe.diluent,
            "stock_is_marketed": recipe.stock_is_marketed}
    rows = [("stock", f"{shown(recipe.stock_ml, 'mL')} of {display(recipe.stock_mcg_per_ml)}"
                      " mcg/mL" + ("" if recipe.stock_is_marketed
                                   else " (not a marketed strength)")),
            ("diluent", f"{shown(recipe.saline_ml, 'mL')} of {recipe.diluent}"),
            ("makes", f"{shown(recipe.total_ml, 'mL')} at "
                      f"{display(recipe.target_mcg_per_ml)} mcg/mL "
                      f"({shown(recipe.dose_in_total_mcg, 'mcg')})")]
    return data, table_of("Dilution", rows)


@calc_command
def battery(
    remaining_nc: str = typer.Option(..., "--remaining-nc", help="reported remaining charge, nC"),
    flow_ml_per_day: str = typer.Option(..., "--flow-ml-per-day", help="mean flow, mL/day"),
    idle_na: str = typer.Option(..., "--idle-na", help="model: idle current, nA"),
    stroke_nc: str = typer.Option(..., "--stroke-nc", help="model: charge per stroke, nC"),
    stroke_nl: str = typer.Option(..., "--stroke-nl", help="model: stroke volume, nL"),
    eri_warning_days: str = typer.Option(str(catalogue.ERI_TO_END_OF_SERVICE_DAYS),
                                         "--eri-warning-days", help="ERI this long before EOS"),
    implanted_at: str | None = typer.Option(None, "--implanted-at"),
    shutoff_days: str | None = typer.Option(None, "--shutoff-days",
                                            help="automatic shut-off age, days"),
    now: str | None = NOW_OPTION,
) -> Computed:
    """Expected ERI (elective replacement) and end-of-service dates."""
    warning_days = exact("eri_warning_days", eri_warning_days)
    shutoff = None if shutoff_days is None else exact("shutoff_days", shutoff_days)
    forecast = forecast_battery(
        remaining_charge_nc=remaining_nc, flow_ml_per_day=flow_ml_per_day,
        now=instant("now", now), idle_current_na=idle_na, stroke_charge_nc=stroke_nc,
        stroke_volume_nl=stroke_nl, eri_warning_s=warning_days * SECONDS_PER_DAY,
        implanted_at=None if implanted_at is None else instant("implanted_at", implanted_at),
        automatic_shutoff_s=None if shutoff is None else shutoff * SECONDS_PER_DAY)
    days_to_eos = forecast.seconds_to_eos / SECONDS_PER_DAY
    data = {"eri_at": iso(forecast.eri_at), "eos_at": iso(forecast.eos_at),
            "days_to_eri": exact_text(forecast.days_to_eri),
            "days_to_eos": exact_text(days_to_eos),
            "drain_nc_per_s": exact_text(forecast.drain_nc_per_s),
            "eri_already_due": forecast.eri_already_due,
            "limited_by_shutoff": forecast.limited_by_shutoff}
    rows = [("ERI expected (UTC)", (iso(forecast.eri_at) or "")
             + ("  ALREADY DUE" if forecast.eri_already_due else "")),
            ("days to ERI", shown(forecast.days_to_eri)),
            ("end of service (UTC)", (iso(forecast.eos_at) or "")
             + (" (automatic shut-off age)" if forecast.limited_by_shutoff else "")),
            ("drain", shown(forecast.drain_nc_per_s, "nA"))]
    return data, table_of("Battery forecast", rows)


@calc_command
def drugs() -> Computed:
    """The marketed intrathecal baclofen strengths (catalogue, with sources)."""
    products = [{"brand": p.brand,
                 "concentration_mcg_per_ml": exact_text(p.concentration_mcg_per_ml),
                 "screening_only": p.screening_only, "source": p.source}
                for p in catalogue.DRUG_PRODUCTS]
    rows = [(f"{p['brand']} {p['concentration_mcg_per_ml']} mcg/mL",
             ("screening only" if p["screening_only"] else "pump refill")
             + f" [{p['source']}]") for p in products]
    return {"products": products}, table_of("Intrathecal baclofen strengths", rows,
                                          numbers=False)
