"""Typed views of Lean's JSON objects, for editors and type checkers.

Every ``TypedDict`` here is ``total=False`` and has the keys of Lean's example
answers (Lean's Postman collections, as vendored in
``lean_mtls/testing/lean_contract.json``; ``tests/test_conformance_sdk.py``
checks each against them) plus fields from Lean's OpenAPI files.  The resource
methods return Lean's parsed JSON as is, merely *typed* as these dicts: no
field is renamed, converted or dropped, so fields Lean adds later are still
there (read them with ``obj.get("new_field")``).  Amounts stay JSON numbers
and timestamps stay ISO 8601 strings.
"""

from __future__ import annotations

from typing import Any, Optional, TypedDict

__all__ = [
    "Account",
    "AccountOnFilePayment",
    "Amount",
    "Balance",
    "Bank",
    "Beneficiary",
    "Consent",
    "ConsentBalance",
    "ConsentHistory",
    "ConsentHistoryEvent",
    "ConsentPage",
    "Customer",
    "CustomerPage",
    "DataResult",
    "DirectDebit",
    "Entity",
    "EntityPage",
    "GovernmentIdentifier",
    "Identity",
    "InsightResult",
    "ManagersVerificationResult",
    "NameVerificationResult",
    "Page",
    "Payment",
    "PaymentDestination",
    "PaymentIntent",
    "PaymentIntentPage",
    "PaymentSource",
    "Payout",
    "PayoutCreated",
    "PayoutDestination",
    "PayoutHistory",
    "PayoutIntent",
    "PayoutPage",
    "PayoutSummary",
    "Refresh",
    "RefreshPage",
    "Refund",
    "RefundPage",
    "ScheduledPayment",
    "StandingOrder",
    "StatusDetail",
    "Transaction",
    "VerificationResult",
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
    commercial_name_arabic: Optional[str]
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
    flags: list[Any]
    regional_data: Any


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


# ---------------------------------------------------------------------- Data API v2 items


class Identity(TypedDict, total=False):
    """An item of ``GET /data/v2/identity`` (``data.identities``) and
    ``GET /data/v2/accounts/{account_id}/identities``."""

    entity_id: str
    full_legal_name: str
    name: str
    national_id: str
    birth_date: str
    gender: Optional[str]
    email_address: str
    legal_structure: Any
    phone: str
    mobile_number: str
    address: dict[str, Any]
    account_role: str
    party_type: str
    party_id: str
    party_number: str
    regional_data: Any


class Beneficiary(TypedDict, total=False):
    """An item of ``GET /data/v2/accounts/{account_id}/beneficiaries``."""

    account_id: str
    account_holder_name: str
    account_holder_short_name: str
    beneficiary_id: str
    beneficiary_type: str
    creditor_agent: dict[str, Any]
    creditor_account: dict[str, Any]
    reference: str
    supplementary_data: Any
    regional_data: Any


class DirectDebit(TypedDict, total=False):
    """An item of ``GET /data/v2/accounts/{account_id}/direct-debits``."""

    account_id: str
    direct_debit_id: str
    status_code: str
    frequency: str
    mandate_identification: str
    name: str
    previous_payment_date_time: str
    previous_payment_amount: Amount
    regional_data: Any


class ScheduledPayment(TypedDict, total=False):
    """An item of ``GET /data/v2/accounts/{account_id}/scheduled-payments``."""

    account_id: str
    scheduled_payment_id: str
    scheduled_type: str
    scheduled_payment_date_time: str
    debtor_reference: str
    reference: Any
    instructed_amount: Amount
    creditor_agent: dict[str, Any]
    creditor_account: dict[str, Any]
    regional_data: Any


class StandingOrder(TypedDict, total=False):
    """An item of ``GET /data/v2/accounts/{account_id}/standing-orders``
    (``frequency`` is an object in Lean's answers)."""

    account_id: str
    standing_order_id: str
    standing_order_status_code: str
    first_payment_date_time: str
    last_payment_date_time: str
    next_payment_date_time: str
    final_payment_date_time: str
    frequency: dict[str, Any]
    number_of_payments: int
    reference: Any
    standing_order_type: str
    purpose: str
    first_payment_amount: Amount
    last_payment_amount: Amount
    next_payment_amount: Amount
    final_payment_amount: Amount
    creditor_agent: dict[str, Any]
    creditor_account: Any
    regional_data: Any


# ---------------------------------------------------------------------- account on file


class Consent(TypedDict, total=False):
    """An account-on-file consent.  ``GET /consents/{consent_id}`` and the
    list answer ``consent_id`` and ``payment_purpose``; the create answer
    (``POST /consents/account-on-file``) ``id`` and ``purpose``.  ``status``
    e.g. ``AWAITING_AUTHORISATION``."""

    id: str
    consent_id: str
    bank_identifier: Optional[str]
    application_id: str
    start_date_time: str
    expiration_date_time: str
    customer_id: str
    status: str
    destination_account_id: str
    reference: str
    consented_account: Optional[dict[str, Any]]
    currency: str
    purpose: str
    payment_purpose: dict[str, Any]
    control_parameters: dict[str, Any]
    payment_consumption: dict[str, Any]
    immediate_payment: Optional[dict[str, Any]]


class ConsentPage(TypedDict, total=False):
    """One page of ``GET /consents/v1``."""

    data: list[Consent]
    page: Page


class ConsentHistoryEvent(TypedDict, total=False):
    """An item of ``GET /consents/{consent_id}/history``."""

    id: str
    type: str
    description: str
    timestamp: str
    updated_by: str
    reason: Any


class ConsentHistory(TypedDict, total=False):
    """``GET /consents/{consent_id}/history``: ``{"data": [...], "page": {...}}``."""

    data: list[ConsentHistoryEvent]
    page: Page


#: ``GET /consents/{consent_id}/balance``: Lean recorded no example answer (returned as parsed).
ConsentBalance = dict[str, Any]
#: ``POST /payments/account-on-file``: Lean recorded no example answer (returned as parsed).
AccountOnFilePayment = dict[str, Any]


# ---------------------------------------------------------------------- payouts and refunds


class Payout(TypedDict, total=False):
    """``GET /payouts/v1/{payment_id}``."""

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
    post_initiation_status: Optional[str]
    bank_transaction_reference: Optional[str]
    granular_status_code: Any
    status_additional_details: Any


class PayoutSummary(TypedDict, total=False):
    """An item of ``GET /payouts/v1/payments`` (``content``)."""

    recipient_name: str
    recipient_bank_name: str
    recipient_iban: str
    recipient_cool_off_expiry: str
    recipient_address: str
    recipient_city: str
    recipient_country: str
    description: str
    currency: str
    amount: float
    created_at: str
    updated_at: str
    payment_intent_id: str
    auto_authorized: bool
    pending_manual_authorization: bool
    status: str
    post_initiation_status: Any
    bank_transaction_reference: Any


class PayoutPage(TypedDict, total=False):
    """One page of ``GET /payouts/v1/payments``."""

    content: list[PayoutSummary]
    page: Page


class PayoutCreated(TypedDict, total=False):
    """``POST /payouts/v1/payment``: the payments made, per destination."""

    end_user_id: str
    payouts_payment_details: list[dict[str, Any]]


class PayoutHistory(TypedDict, total=False):
    """``GET /payouts/v1/payments/{payment_id}/history``: ``content`` items are
    ``{payment_id, events: [...]}``."""

    content: list[dict[str, Any]]
    page: Page


class PayoutIntent(TypedDict, total=False):
    """``GET /payouts/v1/intents/{payment_intent_id}``."""

    payment_intent_id: str
    customer_id: str
    amount: float
    currency: str
    description: str
    external_reference: Any
    payment: dict[str, Any]
    payment_destination: dict[str, Any]


class PayoutDestination(TypedDict, total=False):
    """An item of ``POST /payouts/v1/payment/destinations``'s answer
    (``status`` e.g. ``CONFIRMED``)."""

    add_beneficiary_task_id: str
    destination_id: str
    bank_identifier: str
    iban: str
    account_number: str
    display_name: str
    status: str


class Refund(TypedDict, total=False):
    """A refund: an item of ``GET /payouts/refunds`` (``content``) and of the
    answers of ``POST``/``PUT /payouts/refunds``."""

    refund_id: str
    deposit_amount: float
    deposit_currency: str
    payment_id: str
    status: str
    amount: float
    currency: str
    reason_code: str
    description: str
    external_reference: str
    beneficiary: dict[str, Any]
    created_at: str
    created_by: str
    actioned_by: str
    refund_intent_id: Any


class RefundPage(TypedDict, total=False):
    """One page of ``GET /payouts/refunds``."""

    content: list[Refund]
    page: Page


# ---------------------------------------------------------------------- insights and verifications


class _Envelope(TypedDict, total=False):
    status: str
    results_id: str
    message: str
    meta: Any
    timestamp: str
    status_detail: Optional[StatusDetail]


class InsightResult(_Envelope, total=False):
    """The answer of the insights (income, expenses, cashflows, KSA insights):
    the computed figures under ``insights``."""

    type: str
    insights: dict[str, Any]


class NameVerificationResult(_Envelope, total=False):
    """``POST /insights/v1/name-verification``: the result under ``data``
    (``match_type`` PERFECT_MATCH / PARTIAL_MATCH / NO_MATCH)."""

    type: str
    data: dict[str, Any]


class VerificationResult(_Envelope, total=False):
    """The answer of the verifications: the checks under ``verifications``
    (account verification: ``account_ownership_verified``, ``account_status``, ...)."""

    verifications: dict[str, Any]


class ManagersVerificationResult(_Envelope, total=False):
    """``POST /verifications/v1/corporates/managers``: one item per manager under ``verifications``."""

    verifications: list[dict[str, Any]]
