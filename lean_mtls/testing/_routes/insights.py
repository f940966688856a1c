"""Insights (``/insights/v2/...``, UAE and KSA) and name verification (``/insights/v1/name-verification``).

Figures are computed from the seeded current account (what it has: monthly
credits, debits, salary, categories); the parts of Lean's answers the emulator
does not model (e.g. ``income_factors``, ``credit_debit_behaviour``) are filled
in Lean's shape by the dispatcher from the vendored contract.  Every insight is
a data call: queued data statuses and ``async=true`` apply.  ``start_date`` is
required on cashflows and the KSA insights (Lean's OpenAPI files).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from .._backend import Backend
from .._core import OK_MESSAGE, ApiError, Call, Handler, flag, invalid, is_async, missing, name_match
from .._data import CURRENCY, TransactionTable, fast_iso, money, now_iso
from .._figures import Series, series
from .._server import Reply

__all__ = ["HANDLERS"]


def _months(b: Backend, since: int | None = None) -> dict[str, list[int]]:
    """Per month ``YYYY-MM``: [credits, debits, salary, credit count, debit count] in fils, current account."""
    table = b.world.table(b.account_ids[0])
    lo, _ = table.window(since, None)
    months: dict[str, list[int]] = {}
    catalogue, kinds, amounts, times = table.catalogue, table.kinds, table.amounts, table.times
    for i in range(lo, len(table)):
        row = months.setdefault(fast_iso(times[i])[:7], [0, 0, 0, 0, 0])
        amount = amounts[i]
        if amount > 0:
            row[0] += amount
            row[3] += 1
            if catalogue[kinds[i]].category == "SALARY":
                row[2] += amount
        else:
            row[1] -= amount
            row[4] += 1
    return months


def _month_fields(month: str, last: str) -> dict[str, Any]:
    return {"month": int(month[5:7]), "year": int(month[:4]), "is_month_complete": month != last}


def _reply(b: Backend, call: Call, entity_id: Any, kind: str | None, build: Callable[[], dict[str, Any]], *,
           asynchronous: bool = False, key: str = "insights") -> Reply:
    entity = b.entity(entity_id)
    if entity["id"] != b.world.entity_id:
        raise ApiError(404, "DATA_NOT_FOUND", "No data is available for this entity yet.")
    figures = build()

    def body(results_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = {"status": "OK", "results_id": results_id, "message": OK_MESSAGE, "meta": None,
                                  "timestamp": now_iso(), "status_detail": None, key: figures}
        if kind is not None:
            answer["type"] = kind
        return answer

    return b.data_reply(body, asynchronous=asynchronous)


def _start(b: Backend, call: Call) -> int | None:
    if not call.param("start_date"):
        raise missing("start_date")
    start, _ = b.window(call.param("start_date"), None)
    return start


def _money(fils: int) -> dict[str, Any]:
    return {"currency": CURRENCY, "amount": money(fils)}


def _table(b: Backend) -> TransactionTable:
    return b.world.table(b.account_ids[0])


def income(b: Backend, call: Call) -> Reply:
    body = call.json()
    if not body.get("entity_id"):
        raise missing("entity_id")
    income_type = str(body.get("income_type") or "ALL").upper()
    if income_type not in {"ALL", "SALARY", "OTHER"}:
        raise invalid("'income_type' must be one of ALL, SALARY, OTHER.")

    def build() -> dict[str, Any]:
        table = _table(b)

        def salary(i: int) -> bool:
            return table.amounts[i] > 0 and table.catalogue[table.kinds[i]].category == "SALARY"

        def part(rows: Series, source: Callable[[int], dict[str, Any] | None]) -> dict[str, Any]:
            total = rows.total()
            total["average_monthly_received_value"] = total["amount"] / max(1, total["count"])
            return {"currency": CURRENCY, "total": total, "monthly_totals": rows.monthly_totals(),
                    "transactions": rows.transactions(b.account_ids[0], source), "income_factors": rows.factors()}

        figures: dict[str, Any] = {}
        if income_type in {"ALL", "SALARY"}:
            figures["salary"] = part(series(table, salary),
                                     lambda i: {"type": "EMPLOYMENT", "name": b.world.employer})
        if income_type in {"ALL", "OTHER"}:
            figures["non_salary"] = part(series(table, lambda i: table.amounts[i] > 0 and not salary(i)),
                                         lambda i: {"type": "TRANSFER", "name": None})
        return figures

    return _reply(b, call, body.get("entity_id"), "income", build, asynchronous=flag(body.get("async")))


def expenses(b: Backend, call: Call) -> Reply:
    def build() -> dict[str, Any]:
        table = _table(b)
        spent = series(table, lambda i: table.amounts[i] < 0)
        everything = spent.fils()
        categories = sorted({table.catalogue[table.kinds[i]].category for i in spent.rows})
        by_category = {c: series(table, lambda i, c=c: table.amounts[i] < 0  # type: ignore[misc]
                                 and table.catalogue[table.kinds[i]].category == c) for c in categories}

        def share(fils: int, whole: int) -> float:
            return round(fils / whole, 4) if whole else 0.0

        breakdowns = [{"category": c, **{k: v for k, v in rows.total().items() if k != "count"},
                       "count": len(rows.rows), "fraction_of_total_expenses": share(rows.fils(), everything),
                       "average_days_between_transactions": rows.average_days_between()}
                      for c, rows in sorted(by_category.items(), key=lambda kv: -kv[1].fils())]

        def month_breakdown(month: str) -> dict[str, Any]:
            whole = spent.per_month().get(month, [0, 0])[0]
            items = [{"category": c, "amount": money(rows.per_month()[month][0]), "count": rows.per_month()[month][1],
                      "fraction_of_total_expenses": share(rows.per_month()[month][0], whole)}
                     for c, rows in by_category.items() if rows.per_month().get(month, [0, 0])[1]]
            return {"breakdown": [{"by": "CATEGORY", "breakdowns": items}]}

        return {"currency": CURRENCY,
                "total": {**spent.total(), "breakdown": [{"by": "CATEGORY", "breakdowns": breakdowns}]},
                "monthly_totals": spent.monthly_totals(month_breakdown)}

    return _reply(b, call, call.param("entity_id"), "expenses", build, asynchronous=is_async(call))


def cashflows(b: Backend, call: Call) -> Reply:
    start = _start(b, call)

    def build() -> dict[str, Any]:
        table = _table(b)
        inwards = series(table, lambda i: table.amounts[i] > 0, start)
        outwards = series(table, lambda i: table.amounts[i] < 0, start)

        def flows(credit: list[int], debit: list[int]) -> dict[str, Any]:
            return {"inwards": [{"category": "ALL", "amount": _money(credit[0]), "count": credit[1]}],
                    "outwards": [{"category": "ALL", "amount": _money(debit[0]), "count": debit[1]}],
                    "net": {"overall_amount": _money(credit[0] - debit[0]), "net_cashflow": None}}

        credit_months, debit_months = inwards.per_month(), outwards.per_month()
        last = inwards.months[-1] if inwards.months else ""
        monthly = [{**_month_fields(m, last), **flows(credit_months[m], debit_months.get(m, [0, 0]))}
                   for m in sorted(credit_months)]
        behaviour, big = [], []
        for name, months in (("P3M", 3), ("P6M", 6), ("P12M", 12)):
            credits_, debits_ = inwards.trailing(months), outwards.trailing(months)
            count_in = sum(credit_months[m][1] for m in sorted(credit_months)[:-1][-months:])
            count_out = sum(debit_months.get(m, [0, 0])[1] for m in sorted(credit_months)[:-1][-months:])
            span = max(1, len(credits_))
            ratio = round(sum(credits_) / sum(debits_), 4) if sum(debits_) else 0.0
            behaviour.append({
                "period": name, "grand_average_credit_amount": _money(sum(credits_) // span),
                "grand_average_credit_count": count_in // span,
                "grand_average_debit_amount": _money(sum(debits_) // span),
                "grand_average_debit_count": count_out // span, "grand_average_credit_debit_amount_ratio": ratio,
                "grand_average_credit_debit_count_ratio": round(count_in / count_out, 4) if count_out else 0.0,
                "total_volume_of_credit": _money(sum(credits_)), "total_volume_of_debit": _money(sum(debits_)),
                "total_volume_of_credit_debit_ratio": ratio})
            biggest_in = _largest(table, inwards, months)
            biggest_out = _largest(table, outwards, months)
            big.append({"period": name, "average_max_monthly_credit_amount": _money(biggest_in),
                        "average_max_monthly_debit_amount": _money(biggest_out),
                        "average_max_monthly_credit_debit_amount_ratio":
                            round(biggest_in / biggest_out, 4) if biggest_out else 0.0})
        totals = flows([inwards.fils(), len(inwards.rows)], [outwards.fils(), len(outwards.rows)])
        return {"total": totals, "monthly_totals": monthly, "credit_debit_behaviour": {"periods": behaviour},
                "big_payments": {"periods": big}}

    return _reply(b, call, call.param("entity_id"), None, build, asynchronous=is_async(call))


def _largest(table: TransactionTable, rows: Series, months: int) -> int:
    """The average over the last ``months`` complete months of each month's largest single amount (fils)."""
    keep = set(sorted(rows.per_month())[:-1][-months:])
    largest: dict[str, int] = {}
    for i in rows.rows:
        month = fast_iso(table.times[i])[:7]
        if month in keep:
            largest[month] = max(largest.get(month, 0), abs(table.amounts[i]))
    return sum(largest.values()) // max(1, len(largest))


def _ksa(kind: str | None, build: Callable[[Backend, int | None], dict[str, Any]]) -> Handler:
    def handler(b: Backend, call: Call) -> Reply:
        start = _start(b, call)
        return _reply(b, call, call.param("entity_id"), kind, lambda: build(b, start), asynchronous=is_async(call))

    return handler


def _monthly(b: Backend, start: int | None, fields: Callable[[list[int]], dict[str, Any]]) -> list[dict[str, Any]]:
    months = _months(b, start)
    last = max(months) if months else ""
    return [{**_month_fields(m, last), **fields(r)} for m, r in sorted(months.items())]


def _credit_obligations(b: Backend, start: int | None) -> dict[str, Any]:
    return {"number_of_credit_cards": sum(1 for a in b.world.accounts if a.sub_type == "CREDIT_CARD"),
            "monthly_totals": _monthly(b, start, lambda r: {})}


def _non_credit_obligations(b: Backend, start: int | None) -> dict[str, Any]:
    months = _months(b, start)
    debits = sum(r[1] for r in months.values())
    return {"total": {"amount": _money(debits), "count": sum(r[4] for r in months.values())},
            "monthly_totals": _monthly(b, start, lambda r: {"amount": _money(r[1]), "count": r[4]})}


def _employment(b: Backend, start: int | None) -> dict[str, Any]:
    table = _table(b)
    paid = series(table, lambda i: table.amounts[i] > 0 and table.catalogue[table.kinds[i]].category == "SALARY",
                  start)
    amounts = [abs(table.amounts[i]) for i in paid.rows]
    days = [int(fast_iso(table.times[i])[8:10]) for i in paid.rows]
    amount_variance = statistics.pvariance(amounts) / 10_000 if len(amounts) > 1 else 0.0
    date_variance = statistics.pvariance(days) if len(days) > 1 else 0.0
    return {"employment_details": [{
        "bank_employer_name": b.world.employer,
        "matched_reference_employer": {"name": {"en": b.world.employer, "ar": None}, "cr_number": None},
        "salary_consistent": amount_variance == 0 and date_variance < 4,
        "salary_date_variance": round(date_variance, 2), "salary_amount_variance": round(amount_variance, 2),
        "first_salary_date": paid.total()["first_date_time"]}]}


def _balances(b: Backend, start: int | None) -> dict[str, Any]:
    closing = b.world.table(b.account_ids[0]).closing_balance
    return {"total": {"current_balance": _money(closing), "available_balance": _money(closing)},
            "monthly_totals": _monthly(b, start, lambda r: {"contribution_amount": _money(r[0] - r[1])})}


def _freelancer_cashflows(b: Backend, start: int | None) -> dict[str, Any]:
    person = b.world.person
    months = _months(b, start)
    return {"account_information": {"account_holder_full_name": person.full_name,
                                    "account_holder_short_name": person.first_name},
            "total": {"inflows": {"total_amount": _money(sum(r[0] for r in months.values())),
                                  "transactions_count": sum(r[3] for r in months.values())},
                      "outflows": {"total_amount": _money(sum(r[1] for r in months.values())),
                                   "transactions_count": sum(r[4] for r in months.values())}},
            "monthly_totals": _monthly(b, start, lambda r: {
                "inflows": {"total_amount": _money(r[0]), "transactions_count": r[3]},
                "outflows": {"total_amount": _money(r[1]), "transactions_count": r[4]}})}


def name_verification(b: Backend, call: Call) -> Reply:
    """Lean answers under ``data`` with ``type`` ``name-verification`` (P), not under ``insights``."""
    body = call.json()
    full_name = body.get("full_name")
    if not isinstance(full_name, str) or not full_name.strip():
        raise missing("full_name")

    def build() -> dict[str, Any]:
        retrieved = b.world.person.full_name
        match_type, confidence = name_match(full_name, retrieved)
        return {"type": "name-verification", "full_name_provided": full_name, "full_name_retrieved": retrieved,
                "match_type": match_type, "confidence": confidence}

    return _reply(b, call, body.get("entity_id"), "name-verification", build,
                  asynchronous=flag(body.get("async")), key="data")


HANDLERS: dict[str, Handler] = {
    "insights.income": income,
    "insights.expenses": expenses,
    "insights.cashflows": cashflows,
    "insights.credit_obligations": _ksa("credits-obligations", _credit_obligations),
    "insights.non_credit_obligations": _ksa("non-credits-obligations", _non_credit_obligations),
    "insights.employment_income": _ksa("employment", _employment),
    "insights.balances": _ksa(None, _balances),
    "insights.freelancer_cashflows": _ksa("freelancer-cashflow", _freelancer_cashflows),
    "insights.name_verification": name_verification,
}
