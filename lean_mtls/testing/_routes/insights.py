"""Insights (``/insights/v2/...``, UAE and KSA) and name verification (``/insights/v1/name-verification``).

Figures are computed from the seeded current account (what it has: monthly
credits, debits, salary, categories); the parts of Lean's answers the emulator
does not model (e.g. ``income_factors``, ``credit_debit_behaviour``) are filled
in Lean's shape by the dispatcher from the vendored contract.  Every insight is
a data call: queued data statuses and ``async=true`` apply.  ``start_date`` is
required on cashflows and the KSA insights (Lean's OpenAPI files).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._backend import Backend
from .._core import OK_MESSAGE, ApiError, Call, Handler, flag, invalid, is_async, missing, name_match
from .._data import CURRENCY, fast_iso, money, now_iso
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


def income(b: Backend, call: Call) -> Reply:
    body = call.json()
    if not body.get("entity_id"):
        raise missing("entity_id")
    income_type = str(body.get("income_type") or "ALL").upper()
    if income_type not in {"ALL", "SALARY", "OTHER"}:
        raise invalid("'income_type' must be one of ALL, SALARY, OTHER.")

    def part(pick: Callable[[list[int]], int]) -> dict[str, Any]:
        months = _months(b)
        last = max(months) if months else ""
        amounts = [pick(row) for row in months.values()]
        total = sum(amounts)
        return {"currency": CURRENCY,
                "total": {"amount": money(total), "count": sum(1 for a in amounts if a),
                          "average_monthly_amount": money(total // max(1, len(months)))},
                "monthly_totals": [{**_month_fields(m, last), "amount": money(pick(r)), "count": 1 if pick(r) else 0}
                                   for m, r in sorted(months.items())]}

    def build() -> dict[str, Any]:
        figures: dict[str, Any] = {}
        if income_type in {"ALL", "SALARY"}:
            figures["salary"] = part(lambda row: row[2])
        if income_type in {"ALL", "OTHER"}:
            figures["non_salary"] = part(lambda row: row[0] - row[2])
        return figures

    return _reply(b, call, body.get("entity_id"), "income", build, asynchronous=flag(body.get("async")))


def expenses(b: Backend, call: Call) -> Reply:
    def build() -> dict[str, Any]:
        table = b.world.table(b.account_ids[0])
        by_category: dict[str, list[int]] = {}
        for kind, amount in zip(table.kinds, table.amounts):
            if amount < 0:
                row = by_category.setdefault(table.catalogue[kind].category, [0, 0])
                row[0] -= amount
                row[1] += 1
        total = sum(row[0] for row in by_category.values())
        months = _months(b)
        last = max(months) if months else ""
        return {"currency": CURRENCY,
                "total": {"amount": money(total), "count": sum(row[1] for row in by_category.values()),
                          "average_monthly_amount": money(total // max(1, len(months))),
                          "breakdown": [{"by": "CATEGORY", "breakdowns": [
                              {"category": category, "amount": money(row[0]), "count": row[1],
                               "fraction_of_total_expenses": round(row[0] / total, 4) if total else 0.0}
                              for category, row in sorted(by_category.items(), key=lambda kv: -kv[1][0])]}]},
                "monthly_totals": [{**_month_fields(m, last), "amount": money(r[1]), "count": r[4]}
                                   for m, r in sorted(months.items())]}

    return _reply(b, call, call.param("entity_id"), "expenses", build, asynchronous=is_async(call))


def cashflows(b: Backend, call: Call) -> Reply:
    start = _start(b, call)

    def build() -> dict[str, Any]:
        months = _months(b, start)
        last = max(months) if months else ""
        inflow, outflow = sum(r[0] for r in months.values()), sum(r[1] for r in months.values())

        def flows(r: list[int]) -> dict[str, Any]:
            return {"inwards": [{"category": "ALL", "amount": _money(r[0]), "count": r[3]}],
                    "outwards": [{"category": "ALL", "amount": _money(r[1]), "count": r[4]}],
                    "net": {"overall_amount": _money(r[0] - r[1]), "net_cashflow": None}}

        totals = [sum(r[i] for r in months.values()) for i in range(5)]
        return {"total": flows(totals) if months else flows([inflow, outflow, 0, 0, 0]),
                "monthly_totals": [{**_month_fields(m, last), **flows(r)} for m, r in sorted(months.items())]}

    return _reply(b, call, call.param("entity_id"), None, build, asynchronous=is_async(call))


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
    return {"employment_details": [{"bank_employer_name": b.world.employer, "salary_consistent": True}]}


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
