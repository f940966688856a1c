"""Insight figures from a transaction table, in the units and shapes of Lean's insights answers.

A :class:`Series` is the transactions one predicate selects (salary credits,
debits of one category...); its methods give what Lean's income, expenses and
cashflows answers report about such a set: totals, first and last booking,
per-month totals (``month``/``year``/``is_month_complete``), monthly averages,
the largest and smallest month, and factors over trailing periods (``P3M``...).
Amounts are in the account's currency units (fils / 100), as Lean's are.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._data import CURRENCY, TransactionTable, fast_iso, money

__all__ = ["Series", "series"]

#: Trailing periods Lean's factors are given for.
PERIODS = (("P3M", 3), ("P6M", 6), ("P12M", 12))


@dataclass
class Series:
    """The rows of one table that a predicate selected, with their month keys."""

    table: TransactionTable
    rows: list[int]
    months: list[str] = field(default_factory=list)  # every month of the window, oldest first

    def _month_of(self, i: int) -> str:
        return fast_iso(self.table.times[i])[:7]

    def fils(self) -> int:
        return sum(abs(self.table.amounts[i]) for i in self.rows)

    def per_month(self) -> dict[str, list[int]]:
        """Month -> [fils, count], every month of the window present."""
        result = {month: [0, 0] for month in self.months}
        for i in self.rows:
            row = result.setdefault(self._month_of(i), [0, 0])
            row[0] += abs(self.table.amounts[i])
            row[1] += 1
        return result

    def monthly_totals(self, extra: Callable[[str], dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        last = self.months[-1] if self.months else ""
        return [{"month": int(m[5:7]), "year": int(m[:4]), "is_month_complete": m != last, "amount": money(f),
                 "count": c, **(extra(m) if extra else {})} for m, (f, c) in sorted(self.per_month().items())]

    def _extreme(self, pick: Callable[..., Any]) -> dict[str, Any] | None:
        months = self.per_month()
        if not months:
            return None
        month, (fils, _) = pick(sorted(months.items()), key=lambda kv: kv[1][0])
        return {"month": int(month[5:7]), "year": int(month[:4]), "amount": money(fils)}

    def _stamp(self, first: bool) -> str | None:
        if not self.rows:
            return None
        return fast_iso(self.table.times[min(self.rows) if first else max(self.rows)])

    def total(self) -> dict[str, Any]:
        months = max(1, len(self.months))
        return {"amount": money(self.fils()), "count": len(self.rows),
                "first_date_time": self._stamp(True), "last_date_time": self._stamp(False),
                "average_monthly_amount": money(self.fils() // months),
                "average_monthly_count": round(len(self.rows) / months, 2),
                "maximum_monthly_amount": self._extreme(max), "minimum_monthly_amount": self._extreme(min)}

    def average_days_between(self) -> float:
        stamps = sorted(self.table.times[i] for i in self.rows)
        gaps = [(b - a) / 86400 for a, b in zip(stamps, stamps[1:])]
        return round(statistics.fmean(gaps), 2) if gaps else 0.0

    def trailing(self, months: int) -> list[int]:
        """Monthly fils of the last ``months`` complete months."""
        complete = [f for _, (f, _) in sorted(self.per_month().items())][:-1]
        return complete[-months:]

    def factors(self) -> dict[str, Any]:
        """Lean's ``income_factors``: variation and average over trailing periods, spread and trend."""
        periods = []
        for name, months in PERIODS:
            values = self.trailing(months)
            mean = statistics.fmean(values) if values else 0.0
            variation = statistics.pstdev(values) / mean if values and mean else 0.0
            periods.append({"period": name, "income_variation": round(variation, 4),
                            "average_income": {"currency": CURRENCY, "amount": round(mean / 100, 2)}})
        values = self.trailing(12)
        changes = [b - a for a, b in zip(values, values[1:])]
        return {"periods": periods,
                "delta_min_max": money(max(values) - min(values)) if values else 0.0,
                "average_monthly_income_change": round(statistics.fmean(changes) / 100, 2) if changes else 0.0}

    def transactions(self, account_id: str, source: Callable[[int], dict[str, Any] | None]) -> list[dict[str, Any]]:
        table = self.table
        return [{"account_id": account_id, "transaction_id": table.transaction(i)["transaction_id"],
                 "transaction_information": table.catalogue[table.kinds[i]].description,
                 "booking_date_time": fast_iso(table.times[i]), "amount": money(abs(table.amounts[i])),
                 "income_source": source(i)} for i in sorted(self.rows, reverse=True)]


def monthly_balances(table: TransactionTable, months: list[str]) -> dict[str, tuple[int, int]]:
    """Month -> (balance at the start of the month, average end-of-transaction balance in it), in fils."""
    result: dict[str, tuple[int, int]] = {}
    balance = table.opening_balance
    by_month: dict[str, list[int]] = {}
    opening: dict[str, int] = {}
    for i in range(len(table)):
        month = fast_iso(table.times[i])[:7]
        opening.setdefault(month, balance)
        by_month.setdefault(month, []).append(table.balances[i])
        balance = table.balances[i]
    carried = table.opening_balance
    for month in months:
        start = opening.get(month, carried)
        values = by_month.get(month) or [start]
        result[month] = (start, sum(values) // len(values))
        carried = values[-1]
    return result


def series(table: TransactionTable, keep: Callable[[int], bool], since: int | None = None) -> Series:
    """The rows of ``table`` (from ``since``, epoch seconds) that ``keep`` selects."""
    lo, _ = table.window(since, None)
    rows = [i for i in range(lo, len(table)) if keep(i)]
    first = dt.datetime.fromtimestamp(table.times[lo] if lo < len(table) else 0, dt.timezone.utc).date()
    months, day = [], first.replace(day=1)
    last = dt.datetime.now(dt.timezone.utc).date()
    while day <= last and lo < len(table):
        months.append(day.isoformat()[:7])
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return Series(table, rows, months)
