"""Views of the lean-mtls Django sample.

Run against the local emulator:  cd samples/django && LEAN_FAKE=1 python manage.py runserver --noreload

* ``GET /customers/<customer_id>/accounts``: the customer's bank accounts, as JSON;
* ``POST /webhooks/lean``: Lean's webhooks, signature verified, 400 when it does not match.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from lean_mtls import LeanAPIError, LeanError, NotFoundError, webhooks
from lean_mtls.errors import DataStatusError

from .lean import get_session, webhook_secret

logger = logging.getLogger("banking")


@require_GET
def customer_accounts(request: HttpRequest, customer_id: str) -> JsonResponse:
    """Every account of every bank the customer connected (their Lean entities)."""
    lean = get_session()
    try:
        accounts = []
        for entity in lean.entities.list(customer_id):
            for account in lean.data.iter_accounts(entity["id"]):
                accounts.append({**account, "bank_identifier": entity.get("bank_identifier")})
    except NotFoundError:
        return JsonResponse({"error": "unknown customer", "customer_id": customer_id}, status=404)
    except DataStatusError as error:  # RECONNECT_REQUIRED, CONSENT_EXPIRED, FAILED
        return JsonResponse({"error": error.status, "message": error.message}, status=409)
    except LeanAPIError as error:
        logger.warning("Lean refused the accounts call: %s", error)
        return JsonResponse({"error": error.status or "lean-error"}, status=502)
    except LeanError as error:  # network, TLS, timeout
        logger.error("Could not reach Lean: %s", error)
        return JsonResponse({"error": error.code}, status=503)
    return JsonResponse({"customer_id": customer_id, "accounts": accounts})


# Lean redelivers an event until it gets HTTP 200: remember recent event ids.
# (A real app de-duplicates in its database or queue.)
_seen: OrderedDict[str, None] = OrderedDict()
_seen_lock = threading.Lock()
received: list[webhooks.WebhookEvent] = []


def _first_time(event_id: str | None) -> bool:
    if event_id is None:
        return True
    with _seen_lock:
        if event_id in _seen:
            return False
        _seen[event_id] = None
        if len(_seen) > 10_000:
            _seen.popitem(last=False)
        return True


@csrf_exempt
@require_POST
def lean_webhook(request: HttpRequest) -> JsonResponse:
    """Verify ``lean-signature`` over the raw body, then accept (quickly) or refuse with 400."""
    try:
        event = webhooks.verify_request(request.headers, request.body, webhook_secret())
    except webhooks.WebhookSignatureError as error:
        logger.warning("Refused a webhook: %s", error.reason)
        return JsonResponse({"error": "invalid signature", "reason": error.reason}, status=400)
    if _first_time(event.event_id):
        received.append(event)  # a real app enqueues the work here and answers at once
        logger.info("Lean webhook %s (%s)", event.type, event.event_id)
    return JsonResponse({"received": event.type, "event_id": event.event_id})
