"""The emulator's state and the helpers every route module shares.

:class:`Backend` holds what clients can change (:class:`~._core.State`, rebuilt
from the seeded :class:`~._data.World` by :meth:`Backend.reset_state`), the
queued data statuses, the OAuth tokens, and sends webhooks when the state
changes.  Route modules receive it as their first argument; FakeLean owns one.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ._core import (
    DATA_MESSAGES,
    DEFAULT_GRANULAR,
    MAX_PAGE_SIZE,
    OK_MESSAGE,
    PENDING_MESSAGE,
    ApiError,
    Call,
    Override,
    Refresh,
    State,
    Stored,
    Token,
    check_uuid,
    epoch,
    int_param,
    invalid,
    page_info,
    parse_date,
)
from ._data import CURRENCY, DAY, AccountInfo, World, iso, now_iso
from ._server import Reply

if TYPE_CHECKING:
    from .fake import FakeLean

__all__ = ["Backend"]


class Backend:
    """State, seeded ids and shared answers of one FakeLean (guarded by ``lock``)."""

    def __init__(self, owner: FakeLean, world: World) -> None:
        self.owner = owner
        self.world = world
        self.seed = owner.seed
        self.lock = threading.RLock()
        self.ids = random.Random(self.seed + 1)  # noqa: S311 - reproducible test ids, not secrets
        self.data_statuses: deque[Override] = deque()
        self.tokens: dict[str, Token] = {}
        self.state = State()
        self.seeded: dict[str, str] = {}
        self._quiet = 0
        self.reset_state()

    @property
    def client_id(self) -> str:
        return self.owner.client_id

    @property
    def client_secret(self) -> str:
        return self.owner.client_secret

    @property
    def refresh_duration(self) -> float:
        return self.owner.refresh_duration

    @property
    def account_ids(self) -> list[str]:
        return self.owner.account_ids

    def emit(self, event_type: str, payload: dict[str, Any] | Callable[[], dict[str, Any]], *,
             delay: float = 0.0) -> None:
        """Send Lean's webhook for a state change to the configured URL (if any), after ``delay`` seconds.

        ``payload`` may be a function, called when the webhook is sent (a
        refresh's payload says FINISHED only once it has finished).
        """
        if not self._quiet:
            self.owner._emit(event_type, payload, delay)

    def payment_event(self, event_type: str, payment: dict[str, Any]) -> None:
        """``payment.created`` / ``payment.updated`` in Lean's payload shape (P webhooks)."""
        intent = self.state.intents.get(payment.get("payment_intent_id") or "")
        self.emit(event_type, {
            "id": payment["id"], "amount": payment["amount"], "currency": payment["currency"],
            "status": payment["status"], "intent_id": payment.get("payment_intent_id"),
            "customer_id": intent["customer_id"] if intent else None,
            "payment_destination_id": intent["payment_destination"]["id"] if intent else None,
            "bank_transaction_reference": payment.get("bank_transaction_reference"),
            "reason": payment.get("description"), "metadata": None})

    def refresh_started(self, refresh: Refresh) -> None:
        """Announce the refresh's end with ``entity.data.refresh.updated`` once it has finished."""
        from ._routes.data import refresh_object

        customer = self.state.customers.get(refresh.customer_id) or {}

        def payload() -> dict[str, Any]:
            body = refresh_object(self, refresh, webhook=True)
            body.pop("created_at")
            body.pop("updated_at")
            return {**body, "app_user_id": customer.get("app_user_id")}

        self.emit("entity.data.refresh.updated", payload, delay=self.refresh_duration)

    def queue_failure(self, granular_status_code: str, info: str) -> None:
        """Make the answer being built a FAILED data answer with this ``status_detail`` (first in the queue)."""
        self.data_statuses.appendleft(Override("FAILED", granular_status_code, 0, info))

    def new_id(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def reset_state(self) -> None:
        """Rebuild the seeded state (the world is immutable; everything clients change is here)."""
        from ._routes.payments import destination_extras  # the route modules import this one

        world = self.world
        state = State()
        state.customers[world.customer_id] = {"customer_id": world.customer_id, "app_user_id": world.app_user_id}
        state.entities[world.entity_id] = self.seed_entity()
        created = world.entity_created_at
        state.destinations[world.default_destination_id] = {
            "id": world.default_destination_id,
            "customer_id": None,
            "name": "Fake Merchant LLC",
            "display_name": "Fake Merchant",
            "address": "Office 1204, Bay Square 7, Business Bay",
            "city": "Dubai",
            "country": "ARE",
            "account_number": "1012345678901",
            "iban": "AE180260001012345678901",
            "swift_code": "EBILAEAD",
            "branch_address": "Business Bay",
            "bank_type": "RETAIL",
            "bank_identifier": "ENBD_UAE",
            "government_identifier": "TRN-100234567800003",
            "currency": CURRENCY,
            **destination_extras(CURRENCY),
            "status": "CONFIRMED",
            "default": True,
            "created_at": created,
        }
        current, savings = world.accounts[0], world.accounts[1]
        cool_off = iso(world.end - 20 * DAY)
        state.payment_sources[world.payment_source_id] = {
            "id": world.payment_source_id,
            "customer_id": world.customer_id,
            "app_id": self.client_id,
            "status": "ACTIVE",
            "beneficiary_cool_off_expiry": cool_off,
            "bank_identifier": world.bank_identifier,
            "beneficiaries": [{
                "id": str(uuid.UUID(int=random.Random(self.seed + 2).getrandbits(128), version=4)),  # noqa: S311
                "payment_destination_id": world.default_destination_id,
                "status": "ACTIVE",
                "beneficiary_cool_off_expiry": cool_off,
            }],
            "accounts": [
                {"id": info.account_id, "account_id": info.account_id, "account_name": info.nickname,
                 "account_number": info.account_number, "iban": info.iban, "balance": None,
                 "currency": CURRENCY, "balance_last_updated": None}
                for info in (current, savings)
            ],
        }
        intent = {
            "payment_intent_id": world.seeded_intent_id,
            "customer_id": world.customer_id,
            "amount": 250.0,
            "currency": CURRENCY,
            "description": "Wallet top-up",
            "purpose_code": "OAT",
            "payments": [],
            "payment_destination": copy.deepcopy(state.destinations[world.default_destination_id]),
            "created_at": iso(world.end - 2 * DAY + 11 * 3600),
            "updated_at": iso(world.end - 2 * DAY + 11 * 3600),
        }
        state.intents[world.seeded_intent_id] = intent
        self.state = state
        self.seeded = {"customer_id": world.customer_id, "app_user_id": world.app_user_id,
                       "entity_id": world.entity_id, "account_id": world.accounts[0].account_id,
                       "payment_intent_id": world.seeded_intent_id, "payment_id": world.seeded_payment_id,
                       "payment_source_id": world.payment_source_id, "destination_id": world.default_destination_id}
        with self.quiet():
            self.new_payment(intent, "ACCEPTED_BY_BANK", payment_id=world.seeded_payment_id,
                             when=world.end - 2 * DAY + 11 * 3600 + 95)
            self._seed_more()

    def _seed_more(self) -> None:
        """A finished refresh, ready results, an authorised account-on-file consent, a payout and a refund."""
        from ._routes.consents import new_consent
        from ._routes.payouts import new_payout, new_payout_destination, new_refund

        world, state = self.world, self.state
        refresh = Refresh(self.new_id(), world.entity_id, world.customer_id, world.end - DAY)
        state.refreshes[refresh.refresh_id] = refresh
        results_id = self.new_id()
        items = [world.account_object(info) for info in world.accounts]
        state.results[results_id] = Stored(self.v2_body(results_id, world.entity_id, "accounts", items,
                                                        page_info(0, 50, len(items))), 0, False)
        consent = new_consent(self, world.customer_id, world.default_destination_id, currency=CURRENCY,
                              purpose="FIS", reference="FAKELEAN-AOF", description="Wallet top-ups",
                              controls={"period_type": "MONTH", "max_individual_amount": 5_000.0,
                                        "max_cumulative_amount": None, "max_cumulative_number_of_payments": None,
                                        "max_cumulative_amount_per_period": 20_000.0,
                                        "max_cumulative_number_of_payments_per_period": 10},
                              status="AUTHORIZED")
        target = new_payout_destination(self, {
            "name": "Fake Supplier LLC", "display_name": "Fake Supplier", "iban": "AE070331234567890123456",
            "account_number": "1234567890123456", "swift_code": "ADCBAEAAXXX", "address": "Office 3, Al Quoz",
            "branch_address": "Al Quoz", "country": "ARE", "city": "Dubai", "customer_id": None,
            "currency_iso_code": CURRENCY, "postal_code": "00000", "bank_identifier": world.bank_identifier})
        payout = new_payout(self, world.accounts[0].account_id, target, 1_250.0, CURRENCY, "Supplier invoice",
                            when=world.end - DAY)
        refund = new_refund(self, state.payments[world.seeded_payment_id], 50.0, CURRENCY, "CUSTOMER_REQUEST",
                            "Partial refund", "FAKELEAN-REFUND-1")
        refund["status"] = "PENDING"
        self.seeded.update(refresh_id=refresh.refresh_id, results_id=results_id, consent_id=consent["id"],
                           payout_id=payout["id"], payout_intent_id=payout["payment_intent_id"],
                           payout_destination_id=target["id"], refund_id=refund["refund_id"])

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        """No webhooks for what happens inside (seeding is not a state change anyone is told about)."""
        self._quiet += 1
        try:
            yield
        finally:
            self._quiet -= 1

    def seed_entity(self) -> dict[str, Any]:
        world = self.world
        created = world.entity_created_at
        expires = iso(world.end + 335 * DAY)
        permissions = {name: True for name in ("identity", "accounts", "balance", "transactions", "identities",
                                               "scheduled_payments", "standing_orders", "direct_debits",
                                               "beneficiaries")}
        return {
            "id": world.entity_id,
            "customer_id": world.customer_id,
            "bank_identifier": world.bank_identifier,
            "permissions": permissions,
            "bank_type": "RETAIL",
            "status": "ACTIVE",
            "created_at": created,
            "updated_at": created,
            "consents": [{
                "id": world.consent_id,
                "bank_consent_id": f"urn:leanmb1:aisconsent:{world.consent_id[:8]}",
                "consent_status": "ACTIVE",
                "bank_identifier": None,
                "consent_type": None,
                "standard_consent_status": None,
                "permissions": dict(permissions),
                "creation_date_time": created,
                "status_update_date_time": created,
                "expiration_date_time": expires,
                "transaction_from_date_time": iso(world.start),
                "transaction_to_date_time": expires,
                "accounts": [
                    {"scheme_name": "IBAN" if a.sub_type != "CREDIT_CARD" else "PAN",
                     "identification": a.iban if a.sub_type != "CREDIT_CARD"
                     else f"4*** **** **** {a.account_number[-4:]}",
                     "name": world.person.full_name, "secondary_identification": None}
                    for a in world.accounts
                ],
            }],
        }

    def new_payment(self, intent: dict[str, Any], status: str, *, payment_id: str | None = None,
                     when: float | None = None) -> dict[str, Any]:
        world = self.world
        stamp = iso(when if when is not None else time.time())
        seeded = intent["customer_id"] == world.customer_id
        sender = world.accounts[0]
        destination = intent["payment_destination"]
        payment = {
            "id": payment_id or self.new_id(),
            "payment_intent_id": intent["payment_intent_id"],
            "payment_source_id": world.payment_source_id if seeded else self.new_id(),
            "sender_details": {
                "account_number": sender.account_number if seeded else None,
                "iban": sender.iban if seeded else None,
                "name": world.person.full_name if seeded else None,
            },
            "recipient_details": {
                "account_number": destination.get("account_number"),
                "iban": destination.get("iban"),
                "name": destination.get("name"),
            },
            "amount": intent["amount"],
            "currency": intent["currency"],
            "description": intent.get("description"),
            "submission_timestamp": stamp,
            "initiation_timestamp": stamp,
            "status": status,
            "bank_transaction_reference": f"LEAN{self.ids.randrange(10**11, 10**12)}",
        }
        self.state.payments[payment["id"]] = payment
        intent["payments"].append(payment)
        intent["updated_at"] = stamp
        self.payment_event("payment.created", payment)
        return payment

    def paging(self, call: Call, page_name: str, size_name: str, default_size: int) -> tuple[int, int]:
        return (int_param(call, page_name, 0, 0),
                int_param(call, size_name, default_size, 1, MAX_PAGE_SIZE))

    def customer(self, customer_id: str | None) -> dict[str, Any]:
        customer_id = check_uuid(customer_id, "customer_id")
        customer = self.state.customers.get(customer_id)
        if customer is None:
            raise ApiError(404, "UNKNOWN_CUSTOMER", f"Customer with id {customer_id} was not found.")
        return customer

    def entity(self, entity_id: str | None) -> dict[str, Any]:
        entity_id = check_uuid(entity_id, "entity_id")
        entity = self.state.entities.get(entity_id)
        if entity is None:
            raise ApiError(404, "UNKNOWN_ENTITY", f"Entity with id {entity_id} was not found.")
        return entity

    def account(self, entity_id: str, account_id: str | None) -> AccountInfo:
        account_id = check_uuid(account_id, "account_id")
        info = self.world.account(account_id)
        if info is None or entity_id != self.world.entity_id:
            raise ApiError(404, "UNKNOWN_ACCOUNT", f"Account with id {account_id} was not found for this entity.")
        return info

    def refreshed_at(self, entity_id: str) -> str:
        finished = [r.created + self.refresh_duration for r in self.state.refreshes.values()
                    if r.entity_id == entity_id and time.time() - r.created >= self.refresh_duration]
        return iso(max(finished)) if finished else self.world.entity_created_at

    def data_reply(self, build: Callable[[str], dict[str, Any]], *, v1: bool = False,
                   asynchronous: bool = False, empty_key: str | None = None) -> Reply:
        """The data answer, unless a status is queued (or ``async`` asked): then PENDING or the failure.

        ``empty_key`` is where the answer's content would be (``data`` on v2,
        ``payload`` on v1, ``verifications``...): null in PENDING and failures.
        """
        results_id = self.new_id()
        override = self.data_statuses.popleft() if self.data_statuses else None
        if override is None and asynchronous:
            override = Override("PENDING", None, 0)
        if override is None:
            return Reply(200, build(results_id))
        empty = empty_key or ("payload" if v1 else "data")
        if override.status == "PENDING":
            self.state.results[results_id] = Stored(build(results_id), override.pending_polls, v1)
            if override.pending_polls == 0:
                self.results_ready(results_id)
            pending = {"status": "PENDING", "results_id": results_id, "message": PENDING_MESSAGE, "meta": None,
                       "timestamp": now_iso(), "status_detail": None, empty: None}
            return Reply(200 if v1 else 202, pending)
        granular, info = override.granular, override.info
        if granular is None and override.status in DEFAULT_GRANULAR:
            granular, info = DEFAULT_GRANULAR[override.status]
        detail = {"granular_status_code": granular, "status_additional_info": info} if granular else None
        failure: dict[str, Any] = {
            "status": override.status, "results_id": results_id, "message": DATA_MESSAGES[override.status],
            "meta": None, "timestamp": now_iso(), "status_detail": detail, empty: None}
        return Reply(200, failure)

    def results_ready(self, results_id: str) -> None:
        """``results.ready`` with ``{"id": results_id}`` (LEAN_API.md, docs on asynchronous requests)."""
        self.emit("results.ready", {"id": results_id})

    def v2_body(self, results_id: str, entity_id: str, kind: str, content: Any,
                page: dict[str, Any] | None, *, type_name: str | None = None) -> dict[str, Any]:
        """Data API v2's envelope; ``type_name`` is Lean's ``type`` when it differs from the list key."""
        kind_name = type_name or kind
        data: dict[str, Any] = {"type": kind_name, kind: content}
        if page is not None:
            data["page"] = page
        return {"status": "OK", "results_id": results_id, "message": OK_MESSAGE, "meta": None,
                "timestamp": now_iso(), "status_detail": None, "refreshed_at": self.refreshed_at(entity_id),
                "type": kind_name, "data": data}

    def window(self, start_date: object, end_date: object) -> tuple[int | None, int | None]:
        start, end = parse_date(start_date, "start_date"), parse_date(end_date, "end_date")
        latest = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)  # a client a timezone ahead
        for name, day in (("start_date", start), ("end_date", end)):
            if day is not None and day > latest:
                raise invalid(f"'{name}' must be a date in the past or present, got '{day.isoformat()}'.")
        if start is not None and end is not None and end < start:
            raise invalid("'end_date' must not be before 'start_date'.")
        return (epoch(start) if start else None, epoch(end) + DAY if end else None)
