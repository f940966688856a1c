"""Every Lean endpoint the SDK knows, declared once.

The resource methods, FakeLean's routing and the conformance tests all read
this table: a new endpoint is one :class:`Endpoint` here plus its typed
method.  Data only: importing this module loads neither requests nor
cryptography.

Sources (the ``source`` of an endpoint or a parameter):

* ``P``: Lean's Postman collections (leantechnologies/lean-postman, UAE and
  KSA, commit b883f28), as distilled into ``lean_mtls/testing/lean_contract.json``
  (the 63 endpoints of Lean's published contract, ``contract=True``);
* ``O``: Lean's OpenAPI files (``/work/shared/LEAN_API.md`` source key O);
* ``D``: docs.leantech.me pages.

Names of query and body parameters are Lean's.  A body name is a dotted path:
``account_details.type`` is ``{"account_details": {"type": ...}}`` and
``identifications[].type`` is the ``type`` of each element of the
``identifications`` list; a body that is a JSON array (refunds, payout
destinations) has names starting with ``[]``.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, Optional

__all__ = [
    "CUSTOMERS",
    "DATA_V2",
    "ENDPOINTS",
    "ENTITIES",
    "PAGE_NUMBER",
    "PAGE_SIZE",
    "PAYMENT_INTENTS",
    "REFRESHES",
    "Endpoint",
    "PageStyle",
    "Param",
    "by_key",
    "contract_endpoints",
]

# ---------------------------------------------------------------------- paging styles

#: Data API v2 documents ``size`` as 1..100 (O).
MAX_DATA_PAGE_SIZE = 100
#: ``GET /customers/v1/entities`` documents ``page_size`` as 1..100 (default 100) (O).
MAX_ENTITIES_PAGE_SIZE = 100
#: Not documented for the other lists: UNCERTAIN, the same as the documented ones.
MAX_LIST_PAGE_SIZE = 100


class PageStyle(NamedTuple):
    """The names of a list endpoint's page parameters and its largest page."""

    page_param: str
    size_param: str
    max_size: int

    def params(self, number: int, size: int) -> dict[str, int]:
        """The query parameters that ask for page ``number`` of ``size`` items."""
        return {self.page_param: number, self.size_param: size}


#: ``page``/``size``: Data API v2, data refreshes, payment intents (P, O).
PAGE_SIZE = PageStyle("page", "size", MAX_DATA_PAGE_SIZE)
#: ``page_number``/``page_size``: customers, entities by date range, consents, payouts (P, O).
PAGE_NUMBER = PageStyle("page_number", "page_size", MAX_LIST_PAGE_SIZE)

DATA_V2 = PAGE_SIZE
REFRESHES = PAGE_SIZE
PAYMENT_INTENTS = PageStyle("page", "size", MAX_LIST_PAGE_SIZE)
CUSTOMERS = PAGE_NUMBER
ENTITIES = PageStyle("page_number", "page_size", MAX_ENTITIES_PAGE_SIZE)
CONSENTS = PAGE_NUMBER
PAYOUTS = PAGE_NUMBER
#: ``GET /payouts/refunds``: Lean's request sends only ``size``; the page
#: parameter is UNCERTAIN (``page``, as in the answer's Spring page object).
REFUNDS = PageStyle("page", "size", MAX_LIST_PAGE_SIZE)

# ---------------------------------------------------------------------- the table


class Param(NamedTuple):
    """One query or body name of an endpoint.

    ``required``: the SDK always sends it (Lean requires it, or sending it
    always is Lean's own request); otherwise it is sent when the caller gives
    it.  ``source``: where the name comes from (``P``, ``O``, ``D``; see the
    module docstring); ``copied``: Lean's request sends it but it looks copied
    from another endpoint (LEAN_CONTRACT.md), so the SDK need not send it.
    """

    name: str
    required: bool = False
    source: str = "P"
    copied: bool = False


IdempotencyRule = Literal["none", "optional", "required"]
Host = Literal["api", "auth"]


class Endpoint(NamedTuple):
    """One Lean endpoint.

    Fields:
        key: stable name, also the SDK method that calls it
            (``"data.accounts"`` is ``session.data.accounts``).
        method, path: as Lean spells them (trailing slashes included);
            ``{name}`` marks a path parameter.
        host: ``"api"`` (the API origin) or ``"auth"`` (the OAuth origin).
        regions: ``"UAE"``, ``"KSA"``.
        query, body: the :class:`Param` names the SDK may send.
        body_kind: ``"json"``, ``"form"`` or ``None`` (no body).
        paging: the :class:`PageStyle` of a list endpoint, else ``None``;
            ``item_key`` is where the items are (``data``, ``content``,
            or the data type for Data API v2).
        data_call: the answer carries a data ``status`` (FAILED,
            RECONNECT_REQUIRED, CONSENT_EXPIRED raise); ``pending``: a PENDING
            answer is a :class:`~lean_mtls.PendingResult`.
        idempotency: ``"required"`` (Lean requires an ``Idempotency-Key``),
            ``"optional"`` (Lean accepts one; the SDK always sends one because
            the call moves money) or ``"none"``.
        headers: extra request headers Lean's requests send
            (``lean-correlation-id``; pass them with ``headers=``).
        methods: the SDK methods that call it (``"group.name"``), the first
            being ``key``.
        contract: one of the 63 endpoints of Lean's published contract;
            ``False`` for endpoints known from ``source`` only.
        alt_paths: other paths Lean's sources give for it (configurable on
            the resource, see its docstring).
    """

    key: str
    method: str
    path: str
    host: Host = "api"
    regions: tuple[str, ...] = ("UAE", "KSA")
    query: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    body_kind: Optional[Literal["json", "form"]] = None
    paging: Optional[PageStyle] = None
    item_key: Optional[str] = None
    data_call: bool = False
    pending: bool = False
    idempotency: IdempotencyRule = "none"
    headers: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    contract: bool = True
    source: str = "P"
    alt_paths: tuple[str, ...] = ()

    @property
    def group(self) -> str:
        """The session attribute of the resource group (``"data"``)."""
        return self.key.split(".", 1)[0]

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the ``{...}`` segments of :attr:`path`, in order."""
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{") and part.endswith("}"))

    def required_names(self) -> frozenset[str]:
        """Query and body names the SDK always sends."""
        return frozenset(p.name for p in (*self.query, *self.body) if p.required)

    def all_methods(self) -> tuple[str, ...]:
        return (self.key, *self.methods)


def _q(*names: str, source: str = "P", required: bool = False) -> tuple[Param, ...]:
    return tuple(Param(name, required, source) for name in names)


_ENTITY = Param("entity_id", True)
# Data API v2: page/size always sent (0 and Lean's default 50 unless given).
_DATA_QUERY = (Param("page", True), Param("size", True), _ENTITY)
# Lean's "Get Refresh Status" and "Get Results" requests send the data
# endpoints' query parameters; they look copied (LEAN_CONTRACT.md).
_COPIED = tuple(Param(name, copied=True) for name in ("async", "page", "size", "entity_id", "meta"))
# Insights computed over a period: start_date always sent (O marks it required).
_INSIGHT_QUERY = (_ENTITY, Param("start_date", True), Param("async", True))
_CORRELATION = ("lean-correlation-id",)


def _data(key: str, tail: str, item_key: str, extra: tuple[Param, ...] = ()) -> Endpoint:
    path = f"/data/v2/accounts/{{account_id}}/{tail}" if tail else "/data/v2/accounts"
    return Endpoint(key, "GET", path, query=_DATA_QUERY + extra, paging=DATA_V2, item_key=item_key,
                    data_call=True, pending=True, methods=(f"data.iter_{item_key}",))


def _ksa_insight(key: str, path: str, correlation: bool = True) -> Endpoint:
    return Endpoint(key, "GET", path, regions=("KSA",), query=_INSIGHT_QUERY, data_call=True, pending=True,
                    headers=_CORRELATION if correlation else ())


def _ksa_verification(key: str, path: str, *body: Param) -> Endpoint:
    return Endpoint(key, "POST", path, regions=("KSA",), body=body, body_kind="json", data_call=True, pending=True)


ENDPOINTS: tuple[Endpoint, ...] = (
    # ------------------------------------------------------------------ authentication
    Endpoint("customers.access_token", "POST", "/oauth2/token", host="auth", body_kind="form",
             body=_q("client_id", "client_secret", "grant_type", "scope", required=True)),
    # ------------------------------------------------------------------ customers
    Endpoint("customers.create", "POST", "/customers/v1/", body_kind="json",
             body=(Param("app_user_id", True), Param("government_identifiers", source="O"),
                   Param("government_identifiers[].type", source="O"),
                   Param("government_identifiers[].value", source="O"))),
    Endpoint("customers.list", "GET", "/customers/v1", query=(Param("page_number", True), Param("page_size", True)),
             paging=CUSTOMERS, item_key="data", methods=("customers.iter_customers",)),
    Endpoint("customers.get_by_app_user_id", "GET", "/customers/v1/app-user-id/{app_user_id}"),
    Endpoint("customers.get", "GET", "/customers/v1/{customer_id}"),
    Endpoint("customers.update", "PUT", "/customers/v1/{customer_id}/", regions=("UAE",), body_kind="json",
             body=(Param("government_identifiers", True, "O"), Param("government_identifiers[].type", source="O"),
                   Param("government_identifiers[].value", source="O")),
             contract=False, source="O"),
    # ------------------------------------------------------------------ entities
    Endpoint("entities.list", "GET", "/customers/v1/{customer_id}/entities"),
    Endpoint("entities.get", "GET", "/customers/v1/{customer_id}/entities/{entity_id}"),
    Endpoint("entities.list_by_date_range", "GET", "/customers/v1/entities",
             query=(Param("page_number", True), Param("page_size", True), Param("start_date", True),
                    Param("end_date", True)),
             paging=ENTITIES, item_key="data", methods=("entities.iter_by_date_range",)),
    Endpoint("entities.delete", "DELETE", "/customers/v1/{customer_id}/entities/{entity_id}",
             body_kind="json", body=(Param("reason", True, "O"),), contract=False, source="O"),
    # ------------------------------------------------------------------ Data API v2
    _data("data.accounts", "", "accounts"),
    _data("data.transactions", "transactions", "transactions",
          (Param("start_date", source="O"), Param("end_date", source="O"),
           Param("insights", source="LEAN_API.md: Data API v2 (P)"))),
    _data("data.balances", "balances", "balances"),
    _data("data.beneficiaries", "beneficiaries", "beneficiaries"),
    _data("data.identities", "identities", "identities"),
    _data("data.direct_debits", "direct-debits", "direct_debits"),
    _data("data.scheduled_payments", "scheduled-payments", "scheduled_payments"),
    _data("data.standing_orders", "standing-orders", "standing_orders"),
    Endpoint("data.identity", "GET", "/data/v2/identity", query=_DATA_QUERY, paging=DATA_V2, item_key="identities",
             data_call=True, pending=True, methods=("data.iter_identity",)),
    Endpoint("data.get_refresh", "GET", "/data/v2/refreshes/{refresh_id}", query=_COPIED, data_call=True),
    Endpoint("data.create_refresh", "POST", "/data/v2/refreshes", body_kind="json", body=(_ENTITY,), data_call=True),
    Endpoint("data.list_refreshes", "GET", "/data/v2/refreshes",
             query=(Param("page", True), Param("size", True), Param("entity_id")),
             paging=REFRESHES, item_key="content", data_call=True, methods=("data.iter_refreshes",)),
    Endpoint("data.results", "GET", "/data/v2/results/{results_id}", query=_COPIED, data_call=True, pending=True,
             methods=("data.wait_for_results",)),
    # ------------------------------------------------------------------ Data API v1 (legacy)
    *(Endpoint(f"data_v1.{name}", "POST", f"/data/v1/{name}", body_kind="json", data_call=True, pending=True,
               body=(_ENTITY, *((Param("account_id", True, "D"),) if name in ("balance", "transactions") else ()),
                     Param("async", source="D"),
                     *(_q("insights", "start_date", "end_date", source="D") if name == "transactions" else ())),
               contract=False, source="D", alt_paths=(f"/v1/{name}",))
      for name in ("identity", "accounts", "balance", "transactions")),
    Endpoint("data_v1.results", "GET", "/data/v1/results/{results_id}", data_call=True, pending=True,
             methods=("data_v1.wait_for_results",), contract=False, source="O",
             alt_paths=("/v1/results/{results_id}",)),
    # ------------------------------------------------------------------ insights
    Endpoint("insights.income", "POST", "/insights/v2/income", body_kind="json",
             body=(_ENTITY, Param("income_type", True)), data_call=True, pending=True, headers=_CORRELATION),
    Endpoint("insights.expenses", "GET", "/insights/v2/expenses", query=(_ENTITY, Param("async", True)),
             data_call=True, pending=True, headers=_CORRELATION),
    Endpoint("insights.cashflows", "GET", "/insights/v2/assets/cashflows", query=_INSIGHT_QUERY, data_call=True,
             pending=True, headers=_CORRELATION),
    _ksa_insight("insights.credit_obligations", "/insights/v2/liabilities/credit-obligations"),
    _ksa_insight("insights.non_credit_obligations", "/insights/v2/liabilities/non-credit-obligations"),
    _ksa_insight("insights.employment_income", "/insights/v2/income/employment"),
    _ksa_insight("insights.balances", "/insights/v2/assets/balances"),
    _ksa_insight("insights.freelancer_cashflows", "/insights/v2/assets/freelancers/cashflows", correlation=False),
    Endpoint("insights.name_verification", "POST", "/insights/v1/name-verification", regions=("UAE",),
             body_kind="json", body=(_ENTITY, Param("full_name", True), Param("async", True)),
             data_call=True, pending=True),
    # ------------------------------------------------------------------ banks
    Endpoint("banks.list", "GET", "/banks/v1/",
             query=(Param("account_types", True), *_q("customer_id", "bank_type", "country_codes", "connection_types",
                                                      source="O"))),
    # ------------------------------------------------------------------ verifications
    Endpoint("verifications.verify_account", "POST", "/verifications/v1/accounts", body_kind="json", data_call=True,
             pending=True,
             body=(*_q("country_code", "type", "account_details.type", "account_details.value",
                       "identifications[].type", "identifications[].value", required=True),
                   *_q("bank_identifier.type", "bank_identifier.value"))),
    _ksa_verification("verifications.verify_entity", "/verifications/v2/entity",
                      *_q("entity_id", "identifications[].type", "identifications[].value", required=True)),
    _ksa_verification("verifications.verify_beneficiary_name", "/verifications/v2/beneficiary-name",
                      Param("iban", True)),
    _ksa_verification("verifications.verify_corporate_managers", "/verifications/v1/corporates/managers",
                      *_q("identifications[].type", "identifications[].value", "language", required=True)),
    _ksa_verification("verifications.verify_corporate", "/verifications/v1/corporates",
                      *_q("type", "language", "identifications[].type", "identifications[].value", required=True)),
    _ksa_verification("verifications.verify_freelancer", "/verifications/v1/freelancers",
                      *_q("type", "identifications[].type", "identifications[].value", required=True)),
    # ------------------------------------------------------------------ payments: intents
    Endpoint("payments.create_intent", "POST", "/payments/v1/intents", regions=("UAE",), body_kind="json",
             body=(*_q("amount", "currency", "customer_id", required=True),
                   # O: without payment_destination_id the app's default destination is paid.
                   Param("payment_destination_id", source="O"), Param("description"), Param("purpose_code"))),
    Endpoint("payments.get_intent", "GET", "/payments/v1/intents/{payment_intent_id}", regions=("UAE",)),
    Endpoint("payments.get_payment", "GET", "/payments/v1/{payment_id}", regions=("UAE",)),
    Endpoint("payments.list_intents", "GET", "/payments/v1/intents", regions=("UAE",),
             query=(Param("page", True, "O"), Param("size", True, "O"),
                    *_q("customer_id", "from", "to", "status", source="O")),
             paging=PAYMENT_INTENTS, item_key="data", methods=("payments.iter_intents",)),
    # ------------------------------------------------------------------ account on file
    Endpoint("consents.create", "POST", "/consents/account-on-file", regions=("UAE",), body_kind="json",
             body=(*_q("customer_id", "destination_account_id", "currency", "description", "purpose",
                       "control_parameters", "control_parameters.period_type",
                       "control_parameters.max_individual_amount", "government_identifier",
                       "government_identifier.type", "government_identifier.value", required=True),
                   *_q("reference", "control_parameters.max_cumulative_number_of_payments",
                       "control_parameters.max_cumulative_amount_per_period",
                       "control_parameters.max_cumulative_number_of_payments_per_period",
                       "immediate_payment", "immediate_payment.amount", "immediate_payment.reference",
                       "immediate_payment.creditor_reference"),
                   Param("control_parameters.max_cumulative_amount", source="O")),
             alt_paths=("/consents/v1/account-on-file",)),
    Endpoint("payments.create_account_on_file_payment", "POST", "/payments/account-on-file", regions=("UAE",),
             body_kind="json", idempotency="required", headers=("Idempotency-Key",),
             body=(*_q("consent_id", "amount", "risk_details", "risk_details.channel", required=True),
                   *_q("reference", "creditor_reference")),
             alt_paths=("/payments/v1/account-on-file",)),
    Endpoint("consents.get", "GET", "/consents/{consent_id}", regions=("UAE",)),
    Endpoint("consents.balance", "GET", "/consents/{consent_id}/balance", regions=("UAE",)),
    Endpoint("consents.history", "GET", "/consents/{consent_id}/history", regions=("UAE",)),
    Endpoint("consents.list", "GET", "/consents/v1", regions=("UAE",),
             query=(Param("page_number", True), Param("page_size", True), *_q("customer_id", "status", source="O")),
             paging=CONSENTS, item_key="data", methods=("consents.iter_consents",)),
    Endpoint("consents.revoke", "POST", "/consents/v1/{consent_id}/revocation", regions=("UAE",),
             contract=False, source="O"),
    # ------------------------------------------------------------------ payment sources
    Endpoint("payments.list_payment_sources", "GET", "/customers/v1/{customer_id}/payment-sources", regions=("UAE",)),
    Endpoint("payments.get_payment_source", "GET",
             "/customers/v1/{customer_id}/payment-sources/{payment_source_id}", regions=("UAE",)),
    Endpoint("payments.delete_payment_source", "DELETE",
             "/customers/v1/{customer_id}/payment-sources/{payment_source_id}", regions=("UAE",),
             body_kind="json", body=(Param("reason", True),)),
    # ------------------------------------------------------------------ payment destinations
    Endpoint("payments.create_destination", "POST", "/payments/v1/destinations", regions=("UAE",), body_kind="json",
             body=(*_q("bank_type", "government_identifier", "government_identifier.type",
                       "government_identifier.value", "name", "iban", "display_name", "address", "city", "country",
                       required=True),
                   *_q("account_number", "swift_code", "branch_address", "customer_id", "bank_identifier",
                       "currency", source="O"))),
    Endpoint("payments.list_destinations", "GET", "/payments/v1/destinations", regions=("UAE",)),
    Endpoint("payments.get_destination", "GET", "/payments/v1/destinations/{destination_id}", regions=("UAE",),
             contract=False, source="O"),
    Endpoint("payments.list_customer_destinations", "GET", "/customers/v1/{customer_id}/destinations",
             regions=("UAE",), contract=False, source="O"),
    # ------------------------------------------------------------------ payouts
    Endpoint("payouts.create", "POST", "/payouts/v1/payment", regions=("UAE",), body_kind="json",
             idempotency="optional",
             body=(*_q("payment_details", "payment_details[].account_id", "payment_details[].currency",
                       "payment_details[].destination_details",
                       "payment_details[].destination_details[].payment_destination_id",
                       "payment_details[].destination_details[].amount", required=True),
                   *_q("payment_details[].destination_details[].authorize_payment",
                       "payment_details[].destination_details[].description"))),
    Endpoint("payouts.list", "GET", "/payouts/v1/payments", regions=("UAE",),
             query=(Param("page_number", True), Param("page_size", True),
                    *_q("amount_min", "amount_max", "from", "to", source="O")),
             paging=PAYOUTS, item_key="content", methods=("payouts.iter_payouts",)),
    Endpoint("payouts.history", "GET", "/payouts/v1/payments/{payment_id}/history", regions=("UAE",)),
    Endpoint("payouts.get", "GET", "/payouts/v1/{payment_id}", regions=("UAE",)),
    Endpoint("payouts.get_intent", "GET", "/payouts/v1/intents/{payment_intent_id}", regions=("UAE",)),
    Endpoint("payouts.create_destinations", "POST", "/payouts/v1/payment/destinations", regions=("UAE",),
             body_kind="json",
             body=(*_q("[].name", "[].iban", "[].display_name", "[].address", "[].country", "[].city", required=True),
                   *_q("[].bank_identifier", "[].account_number", "[].swift_code", "[].branch_address",
                       "[].customer_id", "[].currency_iso_code", "[].postal_code"))),
    Endpoint("payouts.get_destination", "GET", "/payouts/v1/payment/destinations/{destination_id}", regions=("UAE",)),
    # ------------------------------------------------------------------ refunds
    Endpoint("refunds.list", "GET", "/payouts/refunds", regions=("UAE",),
             query=(Param("size", True), Param("status"), Param("page", source="UNCERTAIN: Spring page object")),
             paging=REFUNDS, item_key="content", methods=("refunds.iter_refunds",)),
    Endpoint("refunds.create", "POST", "/payouts/refunds", regions=("UAE",), body_kind="json",
             body=(*_q("[].payment_id", "[].amount", "[].currency", "[].reason_code", required=True),
                   *_q("[].description", "[].external_reference"))),
    Endpoint("refunds.process", "PUT", "/payouts/refunds", regions=("UAE",), body_kind="json",
             body=_q("[].refund_id", "[].status", required=True)),
    Endpoint("refunds.reasons", "GET", "/payouts/refunds/reasons", regions=("UAE",)),
)

_BY_KEY: dict[str, Endpoint] = {endpoint.key: endpoint for endpoint in ENDPOINTS}
if len(_BY_KEY) != len(ENDPOINTS):  # pragma: no cover - a typo in the table
    raise RuntimeError("Duplicate endpoint key in lean_mtls.resources._endpoints.ENDPOINTS")


def by_key(key: str) -> Endpoint:
    """The endpoint named ``key`` (``"data.accounts"``); ``KeyError`` if unknown."""
    return _BY_KEY[key]


def contract_endpoints() -> tuple[Endpoint, ...]:
    """The endpoints of Lean's published contract (63)."""
    return tuple(endpoint for endpoint in ENDPOINTS if endpoint.contract)
