"""Insights (``/insights/v2/...``, UAE and KSA) and name verification (``/insights/v1/name-verification``).

Figures are computed from the seeded current account (what it has: monthly
credits, debits, salary, categories); the parts of Lean's answers the emulator
does not model (e.g. ``income_factors``, ``credit_debit_behaviour``) are filled
in Lean's shape by the dispatcher from the vendored contract.  Every insight is
a data call: queued data statuses and ``async=true`` apply.  ``start_date`` is
required on cashflows and the KSA insights (Lean's OpenAPI files).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from typing import Any

from .._backend import Backend
from .._core import OK_MESSAGE, ApiError, Call, Handler, flag, invalid, is_async, missing, name_match
from .._data import CURRENCY, TransactionTable, fast_iso, money, now_iso
from .._figures import Series, monthly_balances, series
from .._server import Reply

__all__ = ["HANDLERS"]


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


def _count(fils: int, count: int) -> dict[str, Any]:
    return {"amount": _money(fils), "count": count}


_NO_CARD_BALANCE = {"average_balance": None, "initial_balance": None, "current_balance": None,
                    "available_balance": None, "frequency_of_contributions": None}


def _credit_obligations(b: Backend, start: int | None) -> dict[str, Any]:
    """Card spending and repayments from the seeded card; the seeded customer has no loans."""
    card = next(a for a in b.world.accounts if a.sub_type == "CREDIT_CARD")
    table = b.world.table(card.account_id)
    spending = series(table, lambda i: table.amounts[i] < 0, start)
    repaid = series(table, lambda i: table.amounts[i] > 0, start)
    none = series(table, lambda i: False, start)
    spent_months, repaid_months = spending.per_month(), repaid.per_month()
    last = spending.months[-1] if spending.months else ""

    def month(m: str) -> dict[str, Any]:
        return {**_month_fields(m, last), "loan_repayments": _count(0, 0), "loan_received": _count(0, 0),
                "credit_cards_repayments": _count(*repaid_months.get(m, [0, 0])),
                "credit_cards_spending": _count(*spent_months.get(m, [0, 0])),
                "credit_cards_balance": dict(_NO_CARD_BALANCE)}

    return {"current_credit_cards_balance": {"amount": _money(-table.closing_balance)},
            "number_of_credit_cards": sum(1 for a in b.world.accounts if a.sub_type == "CREDIT_CARD"),
            "total": {"loan_repayments": _count(none.fils(), 0), "minimum_loan_repayment": None,
                      "maximum_loan_repayment": None, "average_loan_repayment": None,
                      "last_loan_repayment_date_time": None, "loan_received": _count(0, 0),
                      "minimum_loan_received": None, "maximum_loan_received": None, "average_loan_received": None,
                      "last_loan_received_date_time": None,
                      "credit_cards_repayments": _count(repaid.fils(), len(repaid.rows)),
                      "credit_cards_spending": _count(spending.fils(), len(spending.rows)),
                      "credit_cards_balance": dict(_NO_CARD_BALANCE)},
            "monthly_totals": [month(m) for m in spending.months]}


#: What counts as a non-credit obligation: bills, rent and subscriptions paid from the current account.
_OBLIGATIONS = frozenset({"UTILITIES", "HOUSING"})


def _non_credit_obligations(b: Backend, start: int | None) -> dict[str, Any]:
    table = _table(b)

    def obligation(i: int) -> bool:
        kind = table.catalogue[table.kinds[i]]
        return table.amounts[i] < 0 and (kind.category in _OBLIGATIONS or kind.sub_type == "SUBSCRIPTION")

    paid = series(table, obligation, start)
    names = sorted({table.catalogue[table.kinds[i]].description for i in paid.rows})

    def money_month(extreme: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if extreme is None else {"month": f"{extreme['year']}-{extreme['month']:02d}",
                                             "amount": _money(round(extreme["amount"] * 100))}

    def summary(rows: Series) -> dict[str, Any]:
        total = rows.total()
        return {"amount": _money(rows.fils()), "count": len(rows.rows),
                "average_monthly_amount": _money(round(total["average_monthly_amount"] * 100)),
                "average_monthly_count": round(total["average_monthly_count"]),
                "maximum_monthly_amount": money_month(total["maximum_monthly_amount"]),
                "minimum_monthly_amount": money_month(total["minimum_monthly_amount"])}

    breakdowns = []
    for name in names:
        rows = series(table, lambda i, n=name: obligation(i)  # type: ignore[misc]
                      and table.catalogue[table.kinds[i]].description == n, start)
        fraction = round(rows.fils() / paid.fils(), 4) if paid.fils() else 0.0
        breakdowns.append({"transaction_name": name, **summary(rows), "fraction_of_total_obligations": fraction})
    last = paid.months[-1] if paid.months else ""
    return {"total": {**summary(paid), "first_date_time": paid.total()["first_date_time"],
                      "last_date_time": paid.total()["last_date_time"],
                      "breakdown": [{"by": "RECURRING_TRANSACTIONS", "breakdowns": breakdowns}]},
            "monthly_totals": [{**_month_fields(m, last), "amount": _money(f), "count": c}
                               for m, (f, c) in sorted(paid.per_month().items())]}


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


def _factors(rows: Series) -> dict[str, Any]:
    amounts = sorted(abs(rows.table.amounts[i]) / 100 for i in rows.rows) or [0.0]
    weekend = sum(1 for i in rows.rows if dt.datetime.fromtimestamp(rows.table.times[i], dt.timezone.utc).weekday()
                  >= 5)
    return {"median_transaction_amount": statistics.median(amounts), "max_transaction_amount": amounts[-1],
            "min_transaction_amount": amounts[0], "weekday_transaction_count": len(rows.rows) - weekend,
            "weekend_transaction_count": weekend, "average_time": rows.average_days_between(),
            "percent_greater_than_x": 0, "recurring_average": 0.0, "median_days": round(rows.average_days_between())}


def _spikes(rows: Series) -> list[dict[str, Any]]:
    """Per month, the largest payment that is more than five times the median payment (rent, school fees)."""
    amounts = [abs(rows.table.amounts[i]) for i in rows.rows]
    if not amounts:
        return []
    limit = 5 * statistics.median(amounts)
    largest: dict[str, int] = {}
    for i in rows.rows:
        if abs(rows.table.amounts[i]) > limit:
            month = fast_iso(rows.table.times[i])[:7]
            largest[month] = max(largest.get(month, 0), abs(rows.table.amounts[i]))
    return [{"month": int(m[5:7]), "year": int(m[:4]), "amount": money(f)} for m, f in sorted(largest.items())]


def _balances(b: Backend, start: int | None) -> dict[str, Any]:
    table = _table(b)
    inflow = series(table, lambda i: table.amounts[i] > 0, start)
    outflow = series(table, lambda i: table.amounts[i] < 0, start)
    balances = monthly_balances(table, inflow.months)
    ins, outs = inflow.per_month(), outflow.per_month()
    last = inflow.months[-1] if inflow.months else ""
    closing = table.closing_balance
    monthly = []
    for m in inflow.months:
        opening, average = balances[m]
        contribution = ins.get(m, [0, 0])[0] - outs.get(m, [0, 0])[0]
        monthly.append({**_month_fields(m, last), "contribution_amount": _money(contribution),
                        "average_balance": _money(average), "initial_balance": _money(opening),
                        "monthly_growth_rate": round(contribution / opening, 4) if opening else 0.0})
    averages = [balances[m][1] for m in inflow.months] or [closing]
    first = balances[inflow.months[0]][0] if inflow.months else closing
    spikes = _spikes(outflow)
    trend = (averages[-1] - averages[0]) / 100 / max(1, len(averages) - 1)
    return {"total": {"average_balance": _money(sum(averages) // len(averages)), "initial_balance": _money(first),
                      "current_balance": _money(closing), "available_balance": _money(closing),
                      "frequency_of_contributions": "MONTHLY"},
            "monthly_totals": monthly,
            "balance_factors": {
                "periods": [{"period": name, "average_balance": round(sum(averages[-n:]) / len(averages[-n:]) / 100, 2)}
                            for name, n in (("P3M", 3), ("P6M", 6), ("P12M", 12))],
                "balance_trend_average_month_on_month": round(trend, 2), "current_balance": money(closing),
                "balance_trend": 1 if trend > 0 else (-1 if trend < 0 else 0),
                "inflow_factors": {**_factors(inflow), "percent_salary_transaction": 0},
                "outflow_factors": {**_factors(outflow), "spike_transactions": spikes},
                "daily_net_cashflow_estimate": round((inflow.fils() - outflow.fils()) / 100 / 365, 2)}}


def _freelancer_cashflows(b: Backend, start: int | None) -> dict[str, Any]:
    person = b.world.person
    table = _table(b)
    inflow = series(table, lambda i: table.amounts[i] > 0, start)
    outflow = series(table, lambda i: table.amounts[i] < 0, start)
    balances = monthly_balances(table, inflow.months)
    last = inflow.months[-1] if inflow.months else ""
    current = b.world.accounts[0]

    def flows(rows: Series) -> dict[str, Any]:
        periods = []
        for name, n in (("P3M", 3), ("P6M", 6), ("P12M", 12)):
            values = rows.trailing(n)
            periods.append({"period": name, "total_amount": _money(sum(values)),
                            "average_amount": _money(sum(values) // max(1, len(values)))})
        return {"total_amount": _money(rows.fils()), "transactions_count": len(rows.rows), "periods": periods}

    def month(m: str) -> dict[str, Any]:
        (fin, cin), (fout, cout) = inflow.per_month()[m], outflow.per_month().get(m, [0, 0])
        return {**_month_fields(m, last),
                "inflows": {"total_amount": _money(fin), "transactions_count": cin,
                            "monthly_average_amount": _money(fin // max(1, cin))},
                "outflows": {"total_amount": _money(fout), "transactions_count": cout,
                             "monthly_average_amount": _money(fout // max(1, cout))},
                "balance": {"monthly_average_amount": _money(balances[m][1]),
                            "initial_balance_amount": _money(balances[m][0])}}

    averages = [balances[m][1] for m in inflow.months] or [table.closing_balance]
    return {"account_information": {"account_holder_full_name": person.full_name,
                                    "account_holder_short_name": person.first_name,
                                    "account_opening_date": f"{current.opening_date}T00:00:00Z"},
            "total": {"current_balance_amount": _money(table.closing_balance),
                      "average_monthly_balance_amount": _money(sum(averages) // len(averages)),
                      "inflows": flows(inflow), "outflows": flows(outflow)},
            "monthly_totals": [month(m) for m in inflow.months]}


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
