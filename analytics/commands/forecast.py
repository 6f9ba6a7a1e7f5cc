"""``python -m analytics forecast``: one target for one area, printed as CSV or a table."""

from __future__ import annotations

import argparse
import sys

from analytics.forecast import MODELS, SCENARIOS, TARGETS, forecast
from analytics.forecast.data import city_adcode
from analytics.store import DEFAULT_STORE, Store

CITY = "city"


def area_arg(text: str) -> int | str:
    """``city`` or an adcode (the city's own adcode also means the whole city)."""
    if text.strip().lower() == CITY:
        return CITY
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither 'city' nor an adcode") from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "forecast",
        help="forecast population or an age group for the city or a district",
        description="Forecast a target (total population, or the count or share of an age "
        "group) for the city or one district from a base year, with an 80% conformal "
        "interval. Only data up to the base year is used. Prints year,value,lo,hi,model.",
    )
    p.add_argument("--target", required=True, metavar="TARGET",
                   help="one of: " + ", ".join(TARGETS))
    p.add_argument("--district", "--area", dest="district", required=True, type=area_arg,
                   metavar="ADCODE",
                   help="'city' (or the city's adcode, e.g. 330100) or a district's adcode "
                   "(e.g. 330106)")
    p.add_argument("--base-year", required=True, type=int, metavar="YEAR",
                   help="last year of data the forecast may use")
    p.add_argument("--horizon", required=True, type=int, metavar="YEARS",
                   help="years ahead, 1 to 30")
    p.add_argument("--model", default="auto", metavar="MODEL",
                   help="auto (the default: the backtest's pick) or one of: " + ", ".join(MODELS))
    p.add_argument("--scenario", default="medium", metavar="SCENARIO",
                   help="fertility and migration variant: " + ", ".join(SCENARIOS) + " (default medium)")
    p.add_argument("--format", default="csv", choices=["csv", "table"],
                   help="csv for machines (default), table for people")
    p.add_argument("--store", default=str(DEFAULT_STORE), metavar="PATH",
                   help=f"the city store to read, opened read-only (default {DEFAULT_STORE})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with Store.open(args.store, read_only=True) as store:
        district = (None if args.district in (CITY, city_adcode(store)) else args.district)
        frame = forecast(store, args.target, district, args.base_year, args.horizon,
                         model=args.model, scenario=args.scenario)
    digits = 2 if TARGETS[args.target].share else 0
    for col in ("value", "lo", "hi"):
        frame[col] = frame[col].round(digits)
        if digits == 0:
            frame[col] = frame[col].astype("int64")
    if args.format == "csv":
        frame.to_csv(sys.stdout, index=False)
    else:
        print(frame.to_string(index=False))
    return 0
