"""Regenerate ``cn_workdays.json`` (the shipped 工作日历 seed data) from ``chinese_calendar``.

Usage (from the project root, inside the venv)::

    python engine/data/make_cn_workdays.py            # rewrite cn_workdays.json
    python engine/data/make_cn_workdays.py --check    # exit 1 if the JSON is stale

This script is NOT imported at runtime; ``engine.workcal`` only reads the JSON.

* Years covered by the installed ``chinesecalendar`` package (PyPI; it transcribes the annual
  国务院办公厅《关于 XXXX 年部分节假日安排的通知》) are written with ``"status": "official"``:
  every date that is off although it may be a weekday (法定假日 + 调休/补休), and every weekend
  date that is a working day (调休上班).
* A year the package does not cover yet is taken from ``PROVISIONAL`` below and written with
  ``"status": "provisional"``. Such data holds only the statutory days fixed by
  《全国年节及纪念日放假办法》 (2024 revision, in force since 2025-01-01) — no 调休, no 补休 —
  and an administrator must confirm or replace it once the State Council publishes its notice.
  When a newer ``chinesecalendar`` release covers that year, re-running this script switches the
  year to official data automatically.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import chinese_calendar
from chinese_calendar import constants as cc_constants

YEARS: tuple[int, ...] = (2025, 2026, 2027)
OUTPUT = Path(__file__).with_name("cn_workdays.json")

# The package's Chinese names are abbreviated for three festivals; use the statutory names.
_NAME_FIXES = {"清明": "清明节", "端午": "端午节", "中秋": "中秋节"}

# Statutory holiday days for years the package does not cover yet.
# Rules (《全国年节及纪念日放假办法》, revised 2024-11, in force 2025-01-01): 元旦 1 day (Jan 1),
# 春节 4 days (除夕 + 正月初一至初三), 清明节 1 day (the 清明 solar term), 劳动节 2 days (May 1-2),
# 端午节 1 day (五月初五), 中秋节 1 day (八月十五), 国庆节 3 days (Oct 1-3) — 13 days in all.
# 2027 lunar dates: 正月初一 = 2027-02-06 (so 除夕 = 2027-02-05, 腊月 has 29 days),
# 五月初五 = 2027-06-09, 八月十五 = 2027-09-15; no leap month between 冬至 2026 and 冬至 2027.
# They were checked against new-moon times computed with Meeus' algorithm (Beijing time:
# 2027-02-06 23:56, 2027-06-05 03:40, 2027-09-01 01:41) and the known 2025/2026 festival dates.
# The 2027-02-06 new moon is only minutes before midnight, but 2027-02-06 is the universally
# published date of 春节 2027. 清明 (2027-04-05) is cross-checked with chinese_calendar below.
PROVISIONAL: dict[int, dict[str, Any]] = {
    2027: {
        "holidays": {
            "2027-01-01": "元旦",
            "2027-02-05": "春节",
            "2027-02-06": "春节",
            "2027-02-07": "春节",
            "2027-02-08": "春节",
            "2027-04-05": "清明节",
            "2027-05-01": "劳动节",
            "2027-05-02": "劳动节",
            "2027-06-09": "端午节",
            "2027-09-15": "中秋节",
            "2027-10-01": "国庆节",
            "2027-10-02": "国庆节",
            "2027-10-03": "国庆节",
        },
        "workdays": {},
    },
}

_PROVISIONAL_NOTE = (
    "国务院办公厅 {year} 年节假日安排通知未包含在 chinesecalendar {version} 中。"
    "此处仅列出《全国年节及纪念日放假办法》规定的法定节日当天（农历日期按天文推算），"
    "不含调休上班日和周末补休日。请管理员按官方通知确认或修改。"
)


def _chinese_name(english: str) -> str:
    chinese = str(cc_constants.Holiday(english).chinese)
    return _NAME_FIXES.get(chinese, chinese)


def package_years() -> set[int]:
    """Years for which the installed chinese_calendar has official data."""
    return {d.year for d in cc_constants.holidays} | {d.year for d in cc_constants.workdays}


def _official_year(year: int) -> dict[str, Any]:
    holidays = {
        d.isoformat(): _chinese_name(name)
        for d, name in sorted(cc_constants.holidays.items())
        if d.year == year
    }
    workdays = {
        d.isoformat(): _chinese_name(name) + "调休"
        for d, name in sorted(cc_constants.workdays.items())
        if d.year == year
    }
    for iso in workdays:
        if dt.date.fromisoformat(iso).weekday() < 5:
            raise ValueError(f"make-up workday {iso} is not on a weekend")
    return {
        "status": "official",
        "basis": (
            f"chinesecalendar {chinese_calendar.__version__}："
            f"国务院办公厅关于{year}年部分节假日安排的通知"
        ),
        "holidays": holidays,
        "workdays": workdays,
    }


def _provisional_year(year: int) -> dict[str, Any]:
    if year not in PROVISIONAL:
        raise SystemExit(f"no data for {year}: chinese_calendar lacks it and PROVISIONAL too")
    data = PROVISIONAL[year]
    qingming = [
        d
        for d, name in chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 30))
        if name == "清明"
    ]
    listed = [iso for iso, name in data["holidays"].items() if name == "清明节"]
    if [d.isoformat() for d in qingming] != listed:
        raise ValueError(f"{year}: 清明 is {qingming}, table says {listed}")
    return {
        "status": "provisional",
        "basis": "《全国年节及纪念日放假办法》（2024年修订）法定节日当天",
        "note": _PROVISIONAL_NOTE.format(year=year, version=chinese_calendar.__version__),
        "holidays": dict(sorted(data["holidays"].items())),
        "workdays": dict(sorted(data["workdays"].items())),
    }


def build_payload(years: tuple[int, ...] = YEARS) -> dict[str, Any]:
    covered = package_years()
    return {
        "source": (
            f"Official years: PyPI chinesecalendar {chinese_calendar.__version__} "
            "(transcribes the annual 国务院办公厅 holiday notices). Provisional years: only the "
            "statutory holiday days of 《全国年节及纪念日放假办法》 (2024 revision), "
            "to be confirmed by an administrator."
        ),
        "generator": "engine/data/make_cn_workdays.py",
        "years": {
            str(y): _official_year(y) if y in covered else _provisional_year(y) for y in years
        },
    }


def render(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only check that the JSON is fresh")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(build_payload())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date; re-run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
