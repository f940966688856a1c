"""Seeded, believable data for :class:`~lean_mtls.testing.fake.FakeLean`.

Everything here is deterministic for a given ``seed`` and day: the same seed
gives the same customer, entity, accounts, IBANs and transactions (dates are
relative to today, so they move with the calendar but keep their shape).

Transactions are stored column-wise (a few parallel lists of ints, sorted by
time) and turned into Lean's JSON objects only when a page asks for them, so a
100,000-transaction account is built in a fraction of a second and a page of
100 costs the same whether the account holds 300 or 300,000 transactions:
date filters are two binary searches, a page is a slice.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Optional

DAY = 86_400
CURRENCY = "AED"
TIME_ZONE = "Asia/Dubai"


def iso(ts: float) -> str:
    """``2025-03-01T10:21:32.349Z`` for an epoch timestamp (UTC)."""
    moment = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _utc_date(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).date()


def now_iso() -> str:
    return iso(dt.datetime.now(dt.timezone.utc).timestamp())


def money(fils: int) -> float:
    """An amount in fils (1/100 AED) as the JSON number Lean sends."""
    return round(abs(fils) / 100, 2)


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_VERSION_MASK = ~(0xF000 << 64) & ~(0xC000 << 48)
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)


def uuid4_bits(value: int) -> int:
    """``value`` (128 random bits) with the version-4 and RFC 4122 variant bits set."""
    return (value & _VERSION_MASK) | _VERSION_BITS


def _uuid_text(value: int) -> str:
    """The canonical text of a UUID given as an int (faster than ``str(uuid.UUID(int=...))``)."""
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class _DayText:
    """``YYYY-MM-DD`` and ``yyddd`` of a UTC day, cached: rendering a page of
    transactions must not pay for a ``datetime`` per item."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[str, str]] = {}

    def __call__(self, ts: int) -> tuple[str, str]:
        day = ts // DAY
        text = self._cache.get(day)
        if text is None:
            moment = dt.datetime.fromtimestamp(day * DAY, dt.timezone.utc)
            text = (moment.strftime("%Y-%m-%d"), moment.strftime("%y%j"))
            if len(self._cache) < 10_000:
                self._cache[day] = text
        return text


_day_text = _DayText()


def fast_iso(ts: int) -> str:
    """:func:`iso` for whole seconds, with the date part cached."""
    date, _ = _day_text(ts)
    rest = ts % DAY
    return f"{date}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}.000Z"


# --------------------------------------------------------------------------- IBANs


def iban_check_digits(country: str, bban: str) -> str:
    """ISO 13616 check digits for ``country`` + ``bban``."""
    rearranged = bban + country + "00"
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return f"{98 - int(digits) % 97:02d}"


def make_iban(bank_code: str, account_number: str) -> str:
    """A UAE IBAN (``AE`` + 2 check digits + 3-digit bank code + 16-digit account)."""
    bban = bank_code + account_number.rjust(16, "0")
    return "AE" + iban_check_digits("AE", bban) + bban


def iban_is_valid(iban: str) -> bool:
    """Whether ``iban`` has a valid ISO 13616 checksum (spaces ignored)."""
    text = iban.replace(" ", "").upper()
    if len(text) < 15 or len(text) > 34 or not text.isalnum() or not text[:2].isalpha():
        return False
    rearranged = text[4:] + text[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1
    except ValueError:  # pragma: no cover - isalnum() already guarantees base-36 digits
        return False


# --------------------------------------------------------------------------- banks


def _bank(identifier: str, name: str, arabic_name: str, swift: str, color: str, *, country: str = "ARE",
          mock: bool = False, business: bool = True, connection: str = "OPEN_BANKING",
          bank_type: str = "RETAIL", payments: bool = True, max_transfer: int = 50_000) -> dict[str, Any]:
    account_types = ["PERSONAL", "BUSINESS"] if business else ["PERSONAL"]
    slug = identifier.lower()
    currency = "SAR" if country == "SAU" else CURRENCY
    return {
        "identifier": identifier,
        "name": name,
        "arabic_name": arabic_name,
        "commercial_name": name,
        "commercial_name_arabic": arabic_name,
        "logo": f"https://cdn.leantech.me/img/banks/{slug}.png",
        "logo_alt": f"https://cdn.leantech.me/img/banks/{slug}-alt.png",
        "main_color": color,
        "background_color": "#ffffff",
        "theme": "light",
        "country_code": country,
        "active": True,
        "mock": mock,
        "traits": ["user-input-on-login"] if not mock else [],
        "supported_account_types": account_types,
        "supported_account_sub_types": ["CURRENT", "SAVINGS", "CREDIT_CARD"],
        "bank_type": bank_type,
        "swift_code": swift,
        "transfer_limits": [{"currency": currency, "min": 5, "max": max_transfer}],
        "international_transfer_limits": [],
        "international_destinations": [],
        "account_type": account_types[0],
        "connection_type": connection,
        "availability": {
            "active": {"payments": payments, "data": True},
            "enabled": {"payments": payments, "data": True},
        },
    }


def banks() -> list[dict[str, Any]]:
    """Lean's mock banks and a handful of real UAE (and KSA) banks."""
    return [
        _bank("LEANMB1", "Lean Mockbank One", "بنك لين التجريبي", "LEANAEAD", "#1f2a44", mock=True),
        _bank("LEANMB2", "Lean Mockbank Two", "بنك لين التجريبي ٢", "LEANAEAE", "#33495f", mock=True,
              connection="DIRECT_CONNECTION"),
        _bank("ENBD_UAE", "Emirates NBD", "بنك الإمارات دبي الوطني", "EBILAEAD", "#072c5f"),
        _bank("ADCB_UAE", "Abu Dhabi Commercial Bank", "بنك أبوظبي التجاري", "ADCBAEAA", "#e30613"),
        _bank("FAB_UAE", "First Abu Dhabi Bank", "بنك أبوظبي الأول", "NBADAEAA", "#00205b"),
        _bank("MASHREQ_UAE", "Mashreq", "المشرق", "BOMLAEAD", "#ff5e00"),
        _bank("DIB_UAE", "Dubai Islamic Bank", "بنك دبي الإسلامي", "DUIBAEAD", "#00563f", bank_type="ISLAMIC"),
        _bank("RAKBANK_UAE", "RAKBANK", "بنك رأس الخيمة الوطني", "NRAKAEAK", "#ffffff", business=False,
              connection="DIRECT_CONNECTION", payments=False),
        _bank("ALRAJHI_KSA", "Al Rajhi Bank", "مصرف الراجحي", "RJHISARI", "#1c2e6e", country="SAU",
              bank_type="ISLAMIC", max_transfer=100_000),
    ]


# --------------------------------------------------------------------------- transaction catalogue


@dataclass(frozen=True)
class Kind:
    """One kind of transaction line: what the statement says and how it is coded."""

    description: str
    category: str
    credit: bool
    low: float
    high: float
    transaction_type: str
    sub_type: str
    mcc: Optional[str] = None
    merchant: Optional[str] = None
    card: bool = False


def _pos(merchant: str, where: str, category: str, mcc: str, low: float, high: float) -> Kind:
    return Kind(f"POS PURCHASE {merchant} {where}", category, False, low, high, "POS", "PURCHASE",
                mcc, merchant.title(), card=True)


def _online(merchant: str, category: str, mcc: str, low: float, high: float) -> Kind:
    return Kind(f"ONLINE PURCHASE {merchant}", category, False, low, high, "ECOMMERCE", "PURCHASE",
                mcc, merchant.title(), card=True)


#: Everyday spending, with relative frequencies.
SPENDING: Sequence[tuple[Kind, int]] = (
    (_pos("CARREFOUR", "MALL OF THE EMIRATES DUBAI ARE", "GROCERIES", "5411", 25, 650), 14),
    (_pos("CARREFOUR MARKET", "JLT DUBAI ARE", "GROCERIES", "5411", 12, 220), 8),
    (_pos("LULU HYPERMARKET", "AL BARSHA DUBAI ARE", "GROCERIES", "5411", 20, 480), 8),
    (_pos("SPINNEYS", "UMM SUQEIM DUBAI ARE", "GROCERIES", "5411", 30, 390), 5),
    (_pos("WAITROSE", "DUBAI MARINA ARE", "GROCERIES", "5411", 25, 320), 3),
    (_online("TALABAT.COM", "FOOD_AND_DRINK", "5814", 28, 180), 12),
    (_online("DELIVEROO", "FOOD_AND_DRINK", "5814", 30, 160), 6),
    (_pos("STARBUCKS", "DUBAI MALL ARE", "FOOD_AND_DRINK", "5814", 14, 65), 8),
    (_pos("TIM HORTONS", "BUSINESS BAY DUBAI ARE", "FOOD_AND_DRINK", "5814", 9, 45), 5),
    (_pos("SHAKE SHACK", "DUBAI MALL ARE", "FOOD_AND_DRINK", "5812", 45, 190), 3),
    (_online("CAREEM", "TRANSPORT", "4121", 12, 95), 9),
    (_online("UBER *TRIP", "TRANSPORT", "4121", 15, 120), 4),
    (_pos("ENOC", "SHEIKH ZAYED RD DUBAI ARE", "TRANSPORT", "5541", 60, 240), 5),
    (_pos("ADNOC", "AL QUOZ DUBAI ARE", "TRANSPORT", "5541", 60, 240), 4),
    (Kind("SALIK TOP UP", "TRANSPORT", False, 50, 200, "BILL_PAYMENT", "TOLL", "4784", "Salik"), 2),
    (Kind("RTA NOL CARD TOP UP", "TRANSPORT", False, 20, 100, "BILL_PAYMENT", "TRANSIT", "4111", "RTA"), 2),
    (_online("NOON.COM", "SHOPPING", "5399", 20, 900), 6),
    (_online("AMAZON.AE", "SHOPPING", "5399", 20, 1200), 6),
    (_pos("IKEA", "FESTIVAL CITY DUBAI ARE", "HOME", "5712", 40, 1800), 1),
    (_pos("ACE HARDWARE", "AL QUOZ DUBAI ARE", "HOME", "5251", 25, 400), 1),
    (_pos("H&M", "DUBAI MALL ARE", "SHOPPING", "5651", 60, 650), 2),
    (_pos("CENTREPOINT", "DEIRA CITY CENTRE ARE", "SHOPPING", "5651", 40, 500), 2),
    (_pos("BOOTS PHARMACY", "DUBAI MARINA ARE", "HEALTH", "5912", 18, 260), 2),
    (_pos("ASTER PHARMACY", "KARAMA DUBAI ARE", "HEALTH", "5912", 15, 180), 2),
    (_pos("FITNESS FIRST", "JLT DUBAI ARE", "HEALTH", "7997", 150, 450), 1),
    (_pos("VOX CINEMAS", "MALL OF THE EMIRATES ARE", "ENTERTAINMENT", "7832", 45, 220), 2),
    (_online("EMIRATES AIRLINE", "TRAVEL", "3026", 650, 5200), 1),
    (_online("BOOKING.COM", "TRAVEL", "7011", 300, 2800), 1),
    (Kind("ATM CASH WITHDRAWAL ENBD ATM DUBAI", "CASH", False, 100, 2000, "ATM", "CASH_WITHDRAWAL", "6011",
          None, card=True), 3),
    (Kind("TRANSFER TO FRIEND VIA AANI", "TRANSFERS", False, 20, 900, "TRANSFER", "INSTANT_PAYMENT"), 2),
)

#: What goes on the credit card: card spending only.
CARD_SPENDING: Sequence[tuple[Kind, int]] = tuple(
    (kind, weight) for kind, weight in SPENDING if kind.card and kind.transaction_type != "ATM"
)

#: Occasional money coming in besides the salary.
OTHER_CREDITS: Sequence[tuple[Kind, int]] = (
    (Kind("REFUND NOON.COM", "REFUNDS", True, 20, 600, "ECOMMERCE", "REFUND", "5399", "Noon.com", True), 3),
    (Kind("REFUND AMAZON.AE", "REFUNDS", True, 20, 800, "ECOMMERCE", "REFUND", "5399", "Amazon.ae", True), 2),
    (Kind("INWARD TRANSFER FROM FRIEND VIA AANI", "TRANSFERS", True, 50, 1500, "TRANSFER", "INSTANT_PAYMENT"), 3),
    (Kind("CASH DEPOSIT CDM DUBAI", "CASH", True, 200, 3000, "CASH_DEPOSIT", "CASH_DEPOSIT"), 1),
)

#: Monthly bills on the current account.
BILLS: Sequence[tuple[Kind, int]] = (
    (Kind("DEWA BILL PAYMENT", "UTILITIES", False, 280, 1100, "BILL_PAYMENT", "UTILITY", "4900", "DEWA"), 5),
    (Kind("DU POSTPAID BILL PAYMENT", "UTILITIES", False, 150, 420, "BILL_PAYMENT", "TELECOM", "4814", "du"), 12),
    (Kind("NETFLIX.COM", "ENTERTAINMENT", False, 39, 65, "ECOMMERCE", "SUBSCRIPTION", "4899", "Netflix", True),
     20),
)

RENT = Kind("CHEQUE 000{n} RENT PAYMENT", "HOUSING", False, 0, 0, "CHEQUE", "CHEQUE_PAYMENT")
EMPLOYERS = ("EMIRATES TECHNOLOGY SOLUTIONS LLC", "GULF LOGISTICS FZE", "AL NOOR TRADING LLC",
             "DESERT BLOOM HOSPITALITY LLC", "MARINA HEALTHCARE FZ LLC")
CARD_PAYMENT = Kind("CREDIT CARD PAYMENT RECEIVED - THANK YOU", "TRANSFERS", True, 0, 0, "TRANSFER",
                    "CARD_PAYMENT")
SAVINGS_IN = Kind("TRANSFER FROM CURRENT ACCOUNT", "SAVINGS", True, 500, 3000, "TRANSFER", "INTERNAL_TRANSFER")
PROFIT = Kind("PROFIT CREDIT", "INCOME", True, 0, 0, "INTEREST", "PROFIT_PAYMENT")


def salary_kind(employer: str) -> Kind:
    return Kind(f"SALARY TRANSFER FROM {employer}", "SALARY", True, 0, 0, "TRANSFER", "SALARY")


# --------------------------------------------------------------------------- people


FIRST_NAMES = ("Omar", "Fatima", "Aisha", "Khalid", "Sara", "Rashid", "Mariam", "Yousef", "Layla", "Hamad")
LAST_NAMES = ("Al Mansoori", "Al Hashimi", "Al Suwaidi", "Haddad", "Al Marri", "Al Zaabi", "Khoury")
AREAS = ("Dubai Marina", "Jumeirah Lake Towers", "Al Barsha", "Business Bay", "Mirdif", "Downtown Dubai")


@dataclass
class Person:
    first_name: str
    last_name: str
    gender: str
    birth_date: str
    mobile_number: str
    email_address: str
    emirates_id: str
    area: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def identity(self) -> dict[str, Any]:
        """Data API v2 ``identity``."""
        return {
            "full_name": self.full_name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "mobile_number": self.mobile_number,
            "email_address": self.email_address,
            "gender": self.gender,
            "birth_date": self.birth_date,
            "nationality": "ARE",
            "national_identity_number": self.emirates_id,
            "address": {
                "address_line": f"Apartment {1000 + len(self.area) * 7}, {self.area}",
                "city": "Dubai",
                "country": "ARE",
                "postal_code": None,
            },
        }


def make_person(rng: random.Random) -> Person:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    female = first in {"Fatima", "Aisha", "Sara", "Mariam", "Layla"}
    year = rng.randint(1975, 2000)
    birth = dt.date(year, rng.randint(1, 12), rng.randint(1, 28))
    handle = f"{first}.{last.replace(' ', '')}".lower()
    return Person(
        first_name=first,
        last_name=last,
        gender="FEMALE" if female else "MALE",
        birth_date=birth.isoformat(),
        mobile_number=f"+9715{rng.choice('02458')}{rng.randint(1_000_000, 9_999_999)}",
        email_address=f"{handle}@example.com",
        emirates_id=f"784-{year}-{rng.randint(1_000_000, 9_999_999)}-{rng.randint(0, 9)}",
        area=rng.choice(AREAS),
    )


# --------------------------------------------------------------------------- transactions


@dataclass
class TransactionTable:
    """An account's transactions, oldest first, one list per column.

    ``amounts`` are signed fils (credits positive), ``balances`` the running
    balance after each transaction, ``kinds`` indexes into ``catalogue``.
    """

    entity_id: str
    account_id: str
    holder: str
    card_suffix: str
    catalogue: list[Kind]
    times: list[int]
    amounts: list[int]
    kinds: list[int]
    ids: list[int]
    opening_balance: int
    balances: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.balances = list(accumulate(self.amounts, initial=self.opening_balance))[1:]

    def __len__(self) -> int:
        return len(self.times)

    @property
    def closing_balance(self) -> int:
        return self.balances[-1] if self.balances else self.opening_balance

    def window(self, start: float | None, end: float | None) -> tuple[int, int]:
        """Index range ``[lo, hi)`` of the transactions booked in ``[start, end)``."""
        lo = 0 if start is None else bisect.bisect_left(self.times, start)
        hi = len(self.times) if end is None else bisect.bisect_left(self.times, end)
        return lo, max(lo, hi)

    def newest_first(self, lo: int, hi: int, page: int, size: int) -> list[int]:
        """Indexes of page ``page`` (of ``size``) of ``[lo, hi)``, newest first."""
        top = hi - page * size
        bottom = max(lo, top - size)
        return list(range(top - 1, bottom - 1, -1)) if top > lo else []

    def reference(self, i: int) -> str:
        return f"FT{_day_text(self.times[i])[1]}{self.ids[i] % 10**8:08d}"

    def transaction(self, i: int, *, insights: bool = False) -> dict[str, Any]:
        """Data API v2 transaction object number ``i``."""
        kind = self.catalogue[self.kinds[i]]
        amount, balance = self.amounts[i], self.balances[i]
        when = fast_iso(self.times[i])
        return {
            "entity_id": self.entity_id,
            "account_id": self.account_id,
            "transaction_id": _uuid_text(self.ids[i]),
            "transaction_information": kind.description,
            "transaction_reference": self.reference(i),
            "credit_debit_indicator": "CREDIT" if amount > 0 else "DEBIT",
            "amount": {"currency": CURRENCY, "amount": money(amount)},
            "transaction_mutability": "IMMUTABLE",
            "booking_date_time": when,
            "value_date_time": when,
            "status": "BOOKED",
            "balance": {
                "type": "INTERIM_BOOKED",
                "credit_debit_indicator": "CREDIT" if balance >= 0 else "DEBIT",
                "amount": {"currency": CURRENCY, "amount": money(balance)},
            },
            "statement_reference": [self.reference(i)],
            "index": i,
            "charge_amount": None,
            "bank_transaction_code": {"code": kind.transaction_type, "sub_code": kind.sub_type},
            "proprietary_bank_transaction_code": None,
            "card_instrument": {
                "card_scheme_name": "VISA",
                "authorization_type": "CONSUMER_DEVICE" if kind.transaction_type == "ECOMMERCE" else "PIN",
                "name": self.holder,
                "identification": f"4*** **** **** {self.card_suffix}",
            } if kind.card else None,
            "merchant_details": {
                "merchant_name": kind.merchant,
                "merchant_category_code": kind.mcc,
            } if kind.merchant else None,
            "currency_exchange": None,
            "creditor_account": None,
            "creditor_agent": None,
            "debtor_account": None,
            "debtor_agent": None,
            "local_time_zone": TIME_ZONE,
            "transaction_type": kind.transaction_type,
            "sub_transaction_type": kind.sub_type,
            "payment_modes": "ONLINE" if kind.transaction_type in {"ECOMMERCE", "TRANSFER"} else "OFFLINE",
            "insights": {
                "category": kind.category,
                "category_confidence": 0.94,
                "type": "INCOME" if amount > 0 else "SPENDING",
            } if insights else None,
            "flags": [],
            "regional_data": None,
        }

    def transaction_v1(self, i: int, *, insights: bool = False) -> dict[str, Any]:
        """Data API v1 transaction object (signed ``amount``)."""
        kind = self.catalogue[self.kinds[i]]
        item: dict[str, Any] = {
            "id": _uuid_text(self.ids[i]),
            "description": kind.description,
            "amount": round(self.amounts[i] / 100, 2),
            "currency_code": CURRENCY,
            "pending": False,
            "timestamp": fast_iso(self.times[i]),
        }
        if insights:
            item["insights"] = {"category": kind.category, "category_confidence": 0.94}
        return item


class _Builder:
    """Collects (time, kind, amount) rows, then sorts them into a table."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.catalogue: list[Kind] = []
        self._index: dict[Kind, int] = {}
        self.rows: list[tuple[int, int, int]] = []

    def kind_index(self, kind: Kind) -> int:
        if kind not in self._index:
            self._index[kind] = len(self.catalogue)
            self.catalogue.append(kind)
        return self._index[kind]

    def amount(self, kind: Kind, r: float) -> int:
        fils = int((kind.low + (kind.high - kind.low) * r * r) * 100)
        return fils if kind.credit else -fils

    def add(self, ts: int, kind: Kind, fils: int) -> None:
        self.rows.append((ts, self.kind_index(kind), fils))

    def add_random(self, count: int, choices: Sequence[tuple[Kind, int]], start: int, days: int) -> None:
        """``count`` transactions drawn from ``choices`` on random days, between 08:00 and 23:00."""
        if count <= 0:
            return
        rng = self.rng
        kinds = [kind for kind, _ in choices]
        indexes = [self.kind_index(kind) for kind in kinds]
        picked = rng.choices(range(len(kinds)), weights=[w for _, w in choices], k=count)
        rand, randrange = rng.random, rng.randrange
        for k in picked:
            kind = kinds[k]
            fils = int((kind.low + (kind.high - kind.low) * rand() ** 2) * 100)
            ts = start + randrange(days) * DAY + randrange(8 * 3600, 23 * 3600)
            self.rows.append((ts, indexes[k], fils if kind.credit else -fils))

    def monthly(self, first_day: dt.date, months: int, day: int, hour: int) -> list[int]:
        """Timestamps of ``day`` of each of ``months`` months from ``first_day``'s month."""
        out: list[int] = []
        year, month = first_day.year, first_day.month
        for _ in range(months):
            stamp = dt.datetime(year, month, day, hour, tzinfo=dt.timezone.utc).timestamp()
            out.append(int(stamp))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def table(self, entity_id: str, account_id: str, holder: str, card_suffix: str,
              opening: int) -> TransactionTable:
        self.rows.sort()
        rng = self.rng
        return TransactionTable(
            entity_id=entity_id,
            account_id=account_id,
            holder=holder,
            card_suffix=card_suffix,
            catalogue=self.catalogue,
            times=[row[0] for row in self.rows],
            kinds=[row[1] for row in self.rows],
            amounts=[row[2] for row in self.rows],
            ids=[uuid4_bits(rng.getrandbits(128)) for _ in self.rows],
            opening_balance=opening,
        )


def _in_window(times: list[int], start: int, end: int) -> list[int]:
    return [t for t in times if start <= t < end]


def _opening_for(amounts: list[int], floor: int, extra: int) -> int:
    """An opening balance that keeps the running balance above ``floor``."""
    lowest = min(accumulate(amounts, initial=0)) if amounts else 0
    return max(0, floor - lowest) + extra


# --------------------------------------------------------------------------- the world


@dataclass
class AccountInfo:
    account_id: str
    sub_type: str  # CURRENT, SAVINGS, CREDIT_CARD
    nickname: str
    account_number: str
    iban: str
    opening_date: str
    seed: int
    transactions: int
    credit_limit: int = 0


@dataclass
class World:
    """The seeded customer, its entity and accounts; transactions built on first use."""

    seed: int
    start: int  # epoch seconds of the first day of the window (UTC midnight, 365 days ago)
    end: int  # epoch seconds of today's UTC midnight: no transaction on or after it
    customer_id: str
    app_user_id: str
    entity_id: str
    entity_created_at: str
    consent_id: str
    person: Person
    employer: str
    bank_identifier: str
    accounts: list[AccountInfo]
    default_destination_id: str
    payment_source_id: str
    seeded_intent_id: str
    seeded_payment_id: str
    _tables: dict[str, TransactionTable] = field(default_factory=dict)

    def account(self, account_id: str) -> AccountInfo | None:
        return next((a for a in self.accounts if a.account_id == account_id), None)

    def table(self, account_id: str) -> TransactionTable:
        """The account's transactions (built once, then cached; not thread-safe: call under a lock)."""
        table = self._tables.get(account_id)
        if table is None:
            info = self.account(account_id)
            if info is None:
                raise KeyError(account_id)
            table = self._build(info)
            self._tables[account_id] = table
        return table

    # ------------------------------------------------------------------ account objects

    def account_object(self, info: AccountInfo) -> dict[str, Any]:
        holder = self.person.full_name
        if info.sub_type == "CREDIT_CARD":
            identifiers = [{"scheme_name": "PAN", "identification": f"4*** **** **** {info.account_number[-4:]}",
                            "name": holder}]
        else:
            identifiers = [
                {"scheme_name": "IBAN", "identification": info.iban, "name": holder},
                {"scheme_name": "BBAN", "identification": info.account_number, "name": holder},
            ]
        return {
            "entity_id": self.entity_id,
            "account_id": info.account_id,
            "account_holder_name": holder.upper(),
            "account_holder_short_name": self.person.first_name.upper(),
            "status": "ENABLED",
            "status_update_date_time": self.entity_created_at,
            "currency": CURRENCY,
            "account_type": "PERSONAL",
            "account_sub_type": info.sub_type,
            "nickname": info.nickname,
            "description": info.nickname,
            "opening_date": info.opening_date,
            "maturity_date": None,
            "account": identifiers,
            "servicer": {"scheme_name": "BICFI", "identification": "LEANAEAD"},
            "regional_data": None,
        }

    def balances(self, info: AccountInfo, now: str) -> list[dict[str, Any]]:
        closing = self.table(info.account_id).closing_balance
        indicator = "CREDIT" if closing >= 0 else "DEBIT"
        credit_line = ([{"included": True, "type": "CREDIT", "amount": {"currency": CURRENCY,
                                                                         "amount": money(info.credit_limit)}}]
                       if info.credit_limit else
                       [{"included": False, "type": "AVAILABLE", "amount": {"currency": CURRENCY, "amount": 0.0}}])
        available = closing + info.credit_limit if info.credit_limit else closing
        return [
            {
                "entity_id": self.entity_id,
                "account_id": info.account_id,
                "credit_debit_indicator": "CREDIT" if available >= 0 else "DEBIT",
                "type": "CLOSING_AVAILABLE",
                "amount": {"currency": CURRENCY, "amount": money(available)},
                "date_time": now,
                "credit_line": credit_line,
                "regional_data": None,
            },
            {
                "entity_id": self.entity_id,
                "account_id": info.account_id,
                "credit_debit_indicator": indicator,
                "type": "CLOSING_BOOKED",
                "amount": {"currency": CURRENCY, "amount": money(closing)},
                "date_time": now,
                "credit_line": credit_line,
                "regional_data": None,
            },
        ]

    def address(self) -> dict[str, Any]:
        """The customer's address in Data API v2's shape."""
        person = self.person
        line = person.identity()["address"]["address_line"]
        return {"address_type": "RESIDENTIAL", "building_type": None, "apartment_or_villa_number": line.split(",")[0],
                "building_name": None, "street": None, "area": person.area, "town_name": "Dubai", "region": "Dubai",
                "country": "AE", "post_code": None, "po_box": None, "street_address": line, "address_line": line}

    def identities(self, account_id: str | None) -> list[dict[str, Any]]:
        """Data API v2 ``identities``: the parties of an account (or of the entity)."""
        return [{"entity_id": self.entity_id, **({"account_id": account_id} if account_id else {}), **self._party()}]

    def _party(self) -> dict[str, Any]:
        person = self.person
        return {
            "party_id": f"P{self.seed:04d}{person.emirates_id[-9:-2]}",
            "party_number": person.emirates_id,
            "party_type": "SOLE",
            "name": person.full_name,
            "full_legal_name": person.full_name.upper(),
            "email_address": person.email_address,
            "mobile_number": person.mobile_number,
            "phone": person.mobile_number,
            "birth_date": person.birth_date,
            "gender": person.gender,
            "national_id": person.emirates_id,
            "address": self.address(),
            "account_role": "PRINCIPAL",
            "legal_structure": None,
            "regional_data": None,
        }

    def account_lists(self, info: AccountInfo) -> dict[str, list[dict[str, Any]]]:
        """Beneficiaries, identities, direct debits, scheduled payments and standing orders."""
        rng = random.Random(info.seed + 1)  # noqa: S311 - reproducible fake data, not secrets
        base = {"entity_id": self.entity_id, "account_id": info.account_id}
        lists: dict[str, list[dict[str, Any]]] = {
            "identities": self.identities(info.account_id),
            "beneficiaries": [], "direct_debits": [], "scheduled_payments": [], "standing_orders": [],
        }
        if info.sub_type != "CURRENT":
            return lists
        names = ("Nadia Haddad", "Faisal Al Marri", "Dubai Properties Leasing LLC")
        for name, bank in zip(names, ("033", "035", "026")):
            iban = make_iban(bank, str(rng.randint(10**11, 10**12 - 1)))
            lists["beneficiaries"].append({
                **base,
                "beneficiary_id": seeded_uuid(rng),
                "beneficiary_type": "TRUSTED",
                "account_holder_name": self.person.full_name.upper(),
                "account_holder_short_name": self.person.first_name.upper(),
                "reference": name.split()[0].upper(),
                "creditor_account": {"scheme_name": "IBAN", "identification": iban, "name": name},
                "creditor_agent": None,
                "supplementary_data": None,
                "regional_data": None,
            })
        day = _utc_date(self.end)
        for name, amount in (("DU TELECOM", 31_900), ("EMIRATES ISLAMIC AUTO FINANCE", 185_000)):
            lists["direct_debits"].append({
                **base,
                "direct_debit_id": seeded_uuid(rng),
                "mandate_identification": f"DDM{rng.randint(10**7, 10**8 - 1)}",
                "status_code": "ACTIVE",
                "name": name,
                "previous_payment_date_time": f"{(day - dt.timedelta(days=12)).isoformat()}T06:00:00.000Z",
                "previous_payment_amount": {"currency": CURRENCY, "amount": money(amount)},
                "frequency": "MONTHLY",
                "regional_data": None,
            })
        lists["scheduled_payments"].append({
            **base,
            "scheduled_payment_id": seeded_uuid(rng),
            "scheduled_payment_date_time": f"{(day + dt.timedelta(days=9)).isoformat()}T06:00:00.000Z",
            "scheduled_type": "EXECUTION",
            "reference": "SCHOOL FEES TERM 2",
            "debtor_reference": "SCHOOL FEES",
            "instructed_amount": {"currency": CURRENCY, "amount": 14_250.0},
            "creditor_agent": {"scheme_name": "BICFI", "identification": "EBILAEAD"},
            "creditor_account": lists["beneficiaries"][2]["creditor_account"],
            "regional_data": None,
        })
        first = day.replace(day=1)
        lists["standing_orders"].append({
            **base,
            "standing_order_id": seeded_uuid(rng),
            "frequency": {"frequency_type": "MONTHLY", "interval": "1"},
            "reference": "MONTHLY SAVINGS",
            "first_payment_date_time": f"{(first - dt.timedelta(days=330)).isoformat()}T05:00:00.000Z",
            "next_payment_date_time": f"{(first + dt.timedelta(days=32)).replace(day=1).isoformat()}T05:00:00.000Z",
            "last_payment_date_time": f"{first.isoformat()}T05:00:00.000Z",
            "final_payment_date_time": None,
            "number_of_payments": None,
            "standing_order_status_code": "ACTIVE",
            "standing_order_type": "LOCAL_BANK_TRANSFER",
            "purpose": "SAVINGS",
            "first_payment_amount": {"currency": CURRENCY, "amount": 1_500.0},
            "last_payment_amount": {"currency": CURRENCY, "amount": 1_500.0},
            "next_payment_amount": {"currency": CURRENCY, "amount": 1_500.0},
            "final_payment_amount": None,
            "creditor_agent": {"scheme_name": "BICFI", "identification": "LEANAEAD"},
            "creditor_account": {"scheme_name": "IBAN", "identification": self.accounts[1].iban,
                                 "name": self.person.full_name},
            "regional_data": None,
        })
        return lists

    # ------------------------------------------------------------------ generation

    def _build(self, info: AccountInfo) -> TransactionTable:
        rng = random.Random(info.seed)  # noqa: S311 - reproducible fake data, not secrets
        builder = _Builder(rng)
        days = (self.end - self.start) // DAY
        first_day = _utc_date(self.start + DAY * 27)
        card_suffix = info.account_number[-4:]
        holder = self.person.full_name.upper()
        if info.sub_type == "CURRENT":
            return self._build_current(builder, info, days, first_day, card_suffix, holder)
        if info.sub_type == "CREDIT_CARD":
            n = info.transactions
            payments = _in_window(builder.monthly(first_day, 12, 3, 7), self.start, self.end) if n >= 24 else []
            builder.add_random(n - len(payments), CARD_SPENDING, self.start, days)
            spent = -sum(row[2] for row in builder.rows)
            for ts in payments:
                builder.add(ts, CARD_PAYMENT, spent // max(1, len(payments)))
            opening = -rng.randint(1_000, 4_000) * 100
            return builder.table(self.entity_id, info.account_id, holder, card_suffix, opening)
        # SAVINGS: a monthly transfer in and a monthly profit credit.
        stamps = _in_window(builder.monthly(first_day, 12, 1, 5), self.start, self.end)
        opening = rng.randint(20_000, 60_000) * 100
        balance = opening
        for ts in stamps[: info.transactions // 2 + info.transactions % 2]:
            fils = builder.amount(SAVINGS_IN, rng.random())
            builder.add(ts, SAVINGS_IN, fils)
            balance += fils
            if len(builder.rows) < info.transactions:
                profit = balance * 35 // 12_000  # 3.5 % a year
                builder.add(ts + 3600, PROFIT, profit)
                balance += profit
        return builder.table(self.entity_id, info.account_id, holder, card_suffix, opening)

    def _build_current(self, builder: _Builder, info: AccountInfo, days: int, first_day: dt.date,
                       card_suffix: str, holder: str) -> TransactionTable:
        rng = builder.rng
        n = info.transactions
        salary_days = _in_window(builder.monthly(first_day, 12, 25, 4), self.start, self.end) if n >= 24 else []
        bill_days = _in_window(builder.monthly(first_day, 12, 12, 9), self.start, self.end) if n >= 200 else []
        rent_days = salary_days[1::3] if n >= 200 else []
        fixed = len(salary_days) + len(bill_days) * len(BILLS) + len(rent_days)
        random_count = n - fixed
        incoming = random_count // 14
        builder.add_random(random_count - incoming, SPENDING, self.start, days)
        builder.add_random(incoming, OTHER_CREDITS, self.start, days)
        for ts in bill_days:
            for offset, (kind, _) in enumerate(BILLS):
                builder.add(ts + offset * 5 * 3600, kind, builder.amount(kind, rng.random()))
        for number, ts in enumerate(rent_days, start=1):
            rent = Kind(RENT.description.format(n=100 + number), RENT.category, False, 0, 0,
                        RENT.transaction_type, RENT.sub_type)
            builder.add(ts + 2 * DAY, rent, -rng.randint(17, 26) * 1_000 * 100)
        if salary_days:
            spent = -sum(row[2] for row in builder.rows if row[2] < 0)
            other_in = sum(row[2] for row in builder.rows if row[2] > 0)
            monthly = max(15_000 * 100, (spent - other_in) * 105 // 100 // len(salary_days))
            monthly = -(-monthly // 50_000) * 50_000  # round up to 500 AED
            salary = salary_kind(self.employer)
            for ts in salary_days:
                builder.add(ts, salary, monthly)
        builder.rows.sort()
        amounts = [row[2] for row in builder.rows]
        opening = _opening_for(amounts, 2_000 * 100, rng.randint(3_000, 12_000) * 100)
        return builder.table(self.entity_id, info.account_id, holder, card_suffix, opening)


def build_world(seed: int, transactions: int, today: dt.date | None = None) -> World:
    """The seeded customer, entity and accounts (transactions are built lazily)."""
    if isinstance(transactions, bool) or not isinstance(transactions, int) or transactions < 0:
        raise ValueError(f"transactions must be an integer >= 0, got {transactions!r}")
    rng = random.Random(seed)  # noqa: S311 - reproducible fake data, not secrets
    day = today or dt.datetime.now(dt.timezone.utc).date()
    end = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())
    start = end - 365 * DAY
    person = make_person(rng)
    customer_id, entity_id, consent_id = seeded_uuid(rng), seeded_uuid(rng), seeded_uuid(rng)
    accounts: list[AccountInfo] = []
    specs = (("CURRENT", "Current Account", transactions, 0),
             ("SAVINGS", "Savings Account", 24 if transactions >= 24 else transactions // 2, 0),
             ("CREDIT_CARD", "Visa Platinum Credit Card", transactions // 10, 30_000 * 100))
    for number, (sub_type, nickname, count, limit) in enumerate(specs):
        account_number = f"{rng.randint(10**12, 10**13 - 1)}"
        opened = day - dt.timedelta(days=rng.randint(400, 2500))
        accounts.append(AccountInfo(
            account_id=seeded_uuid(rng),
            sub_type=sub_type,
            nickname=nickname,
            account_number=account_number,
            iban=make_iban("099", account_number),
            opening_date=opened.isoformat(),
            seed=seed * 1_000 + number,
            transactions=count,
            credit_limit=limit,
        ))
    created = end - 30 * DAY + rng.randrange(8 * 3600, 20 * 3600)
    return World(
        seed=seed,
        start=start,
        end=end,
        customer_id=customer_id,
        app_user_id=f"app-user-{seed:04d}",
        entity_id=entity_id,
        entity_created_at=iso(created),
        consent_id=consent_id,
        person=person,
        employer=rng.choice(EMPLOYERS),
        bank_identifier="LEANMB1",
        accounts=accounts,
        default_destination_id=seeded_uuid(rng),
        payment_source_id=seeded_uuid(rng),
        seeded_intent_id=seeded_uuid(rng),
        seeded_payment_id=seeded_uuid(rng),
    )
