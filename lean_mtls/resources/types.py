"""Typed views of Lean's JSON objects, for editors and type checkers.

Every ``TypedDict`` here is ``total=False`` and describes the fields listed in
LEAN_API.md (Lean's Postman collections and OpenAPI files).  The resource
methods return Lean's parsed JSON as is, merely *typed* as these dicts: no
field is renamed, converted or dropped, so fields Lean adds later are still
there (read them with ``obj.get("new_field")``).  Amounts stay JSON numbers
and timestamps stay ISO 8601 strings.
"""

from __future__ import annotations

from typing import Any, Optional, TypedDict

__all__ = [
    "Account",
    "Amount",
    "Balance",
    "Bank",
    "Customer",
    "CustomerPage",
    "DataResult",
    "Entity",
    "EntityPage",
    "GovernmentIdentifier",
    "Page",
    "Payment",
    "PaymentDestination",
    "PaymentIntent",
    "PaymentIntentPage",
    "PaymentSource",
    "Refresh",
    "RefreshPage",
    "StatusDetail",
    "Transaction",
]


class Page(TypedDict, total=False):
    """Page information of a list answer; ``number`` counts from 0."""

    number: int
    size: int
    total_elements: int
    total_pages: int
    sort: Any


class Amount(TypedDict, total=False):
    currency: str
    amount: float


class Bank(TypedDict, total=False):
    """An item of ``GET /banks/v1/``."""

    identifier: str
    name: str
    arabic_name: str
    commercial_name: str
    logo: str
    logo_alt: str
    main_color: str
    background_color: str
    theme: str
    country_code: str
    active: bool
    mock: bool
    traits: list[str]
    supported_account_types: list[str]
    supported_account_sub_types: list[str]
    bank_type: str
    swift_code: str
    transfer_limits: list[dict[str, Any]]
    international_transfer_limits: Any
    international_destinations: Any
    account_type: str
    connection_type: str
    availability: dict[str, Any]


class GovernmentIdentifier(TypedDict, total=False):
    """``{"type": "EMIRATES_ID", "value": "784-..."}`` (UAE Open Finance)."""

    type: str
    value: str


class Customer(TypedDict, total=False):
    customer_id: str
    app_user_id: str
    government_identifiers: list[GovernmentIdentifier]


class CustomerPage(TypedDict, total=False):
    """One page of ``GET /customers/v1``."""

    data: list[Customer]
    page: Page


class Entity(TypedDict, total=False):
    """A bank connection made by the customer through LinkSDK."""

    id: str
    customer_id: str
    bank_identifier: str
    permissions: dict[str, bool]
    bank_type: str
    created_at: str
    consents: list[dict[str, Any]]


class EntityPage(TypedDict, total=False):
    """One page of ``GET /customers/v1/entities``."""

    data: list[Entity]
    page: Page


class StatusDetail(TypedDict, total=False):
    granular_status_code: str
    status_additional_info: Optional[str]


class DataResult(TypedDict, total=False):
    """The envelope of every Data API answer.

    ``status`` is ``OK`` here (FAILED, RECONNECT_REQUIRED and CONSENT_EXPIRED
    are raised; PENDING becomes a ``PendingResult``).  Data API v2 puts the
    data under ``data`` (``data["<type>"]`` and ``data["page"]``); v1 uses
    ``payload``.
    """

    status: str
    results_id: Optional[str]
    message: Optional[str]
    meta: Any
    timestamp: str
    status_detail: Optional[StatusDetail]
    refreshed_at: Optional[str]
    type: str
    data: Any
    payload: Any


class Account(TypedDict, total=False):
    entity_id: str
    account_id: str
    account_holder_name: str
    account_holder_short_name: str
    status: str
    status_update_date_time: str
    currency: str
    account_type: str
    account_sub_type: str
    nickname: str
    description: str
    opening_date: str
    maturity_date: str
    account: list[dict[str, Any]]
    servicer: dict[str, Any]
    regional_data: Any


class Balance(TypedDict, total=False):
    entity_id: str
    account_id: str
    credit_debit_indicator: str
    type: str
    amount: Amount
    date_time: str
    credit_line: list[dict[str, Any]]
    regional_data: Any


class Transaction(TypedDict, total=False):
    entity_id: str
    account_id: str
    transaction_id: str
    transaction_information: str
    transaction_reference: str
    credit_debit_indicator: str
    amount: Amount
    transaction_mutability: str
    booking_date_time: str
    value_date_time: str
    insights: Any
    balance: dict[str, Any]
    status: str
    statement_reference: list[str]
    index: int
    charge_amount: Any
    bank_transaction_code: Any
    card_instrument: Any
    merchant_details: Any
    proprietary_bank_transaction_code: Any
    currency_exchange: Any
    creditor_account: Any
    creditor_agent: Any
    debtor_account: Any
    debtor_agent: Any
    local_time_zone: str
    transaction_type: str
    sub_transaction_type: str
    payment_modes: Any


class Refresh(TypedDict, total=False):
    """A data refresh; ``status`` is the refresh's own ``PENDING``/``FINISHED``."""

    refresh_id: str
    entity_id: str
    customer_id: str
    status: str
    message: str
    timestamp: str
    data_status: dict[str, Any]
    created_at: str
    updated_at: str


class RefreshPage(TypedDict, total=False):
    """One page of ``GET /data/v2/refreshes`` (list key ``content``)."""

    content: list[Refresh]
    page: Page


class PaymentDestination(TypedDict, total=False):
    id: str
    customer_id: Optional[str]
    name: str
    display_name: str
    address: str
    city: str
    country: str
    account_number: str
    iban: str
    swift_code: str
    branch_address: str
    bank_type: str
    bank_identifier: str
    government_identifier: str
    currency: str
    status: str
    default: bool


class Payment(TypedDict, total=False):
    id: str
    payment_intent_id: str
    payment_source_id: str
    sender_details: dict[str, Any]
    recipient_details: dict[str, Any]
    amount: float
    currency: str
    description: str
    submission_timestamp: str
    initiation_timestamp: str
    status: str
    bank_transaction_reference: str


class PaymentIntent(TypedDict, total=False):
    payment_intent_id: str
    customer_id: str
    amount: float
    currency: str
    description: str
    purpose_code: str
    payments: list[Payment]
    payment_destination: PaymentDestination
    created_at: str
    updated_at: str


class PaymentIntentPage(TypedDict, total=False):
    """One page of ``GET /payments/v1/intents``."""

    data: list[PaymentIntent]
    page: Page


class PaymentSource(TypedDict, total=False):
    """A customer's bank account set up for payments through LinkSDK."""

    id: str
    customer_id: str
    app_id: str
    status: str
    beneficiary_cool_off_expiry: str
    bank_identifier: str
    beneficiaries: list[dict[str, Any]]
    accounts: list[dict[str, Any]]
