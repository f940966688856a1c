"""Per-record cost of the log filter after many OAuth tokens were fetched (issue 11 item 9).

A worker refreshes its token every hour; each fetched token becomes a ``Secret``
that replaces the previous one.  The filter must cost the same after 100k
fetches as after none: only live secrets are searched.  Prints one line per
token count and the ratio to the 0-token cost (the goal: about 1x).

    python bench/scrub_cost.py [--tokens 0,1000,100000] [--records 2000]

Nothing is asserted; it runs against whatever ``lean_mtls`` is importable
(also an older checkout, via PYTHONPATH, to measure the "before").
"""

from __future__ import annotations

import argparse
import logging
import time

from lean_mtls._logging import RedactingFilter
from lean_mtls._secrets import Secret

#: The common record, and one that takes the decoding path (percent-escapes, a JSON escape, a line
#: break: a quoted URL and a gateway's body), so both costs are seen.
MESSAGES = {
    "plain": "GET /data/v2/accounts/%s/transactions -> 200 in %d ms (request id %s)",
    "escaped": "GET /data/v2/accounts/%s/transactions?q=a%%20b%%2Fc -> 502 in %d ms (request id %s)\n"
               'body: {"message":"upstream \\u0026 gateway said &#38; no","trace":"x\\ny"}',
}


def per_record_us(records: int, kind: str = "plain") -> float:
    log_filter = RedactingFilter()
    message = MESSAGES[kind]
    best = float("inf")
    for _ in range(3):  # best of three: the least disturbed by other processes
        started = time.perf_counter()
        for i in range(records):
            record = logging.LogRecord("lean_mtls", logging.INFO, __file__, 1, message,
                                       ("5f1c0d2e-account-id", i, "req-1234567890"), None)
            log_filter.filter(record)
        best = min(best, (time.perf_counter() - started) / records * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", default="0,1000,100000")
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    app_token = Secret("tok_sk_live_5f2e9c1d-app-token-0001")  # a session's long-lived secrets
    client_secret = Secret("cs_live_9d8e7f6a5b4c-client-secret")
    fetched = 0
    current: Secret | None = None
    baseline = None
    for target in (int(t) for t in args.tokens.split(",")):
        while fetched < target:  # what ClientCredentialsAuth does on each refresh
            current = Secret(f"eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiJ{fetched:08d}fQ.sig-{fetched:08d}")
            fetched += 1
        costs = {kind: per_record_us(args.records, kind) for kind in MESSAGES}
        baseline = baseline or costs["plain"]
        print(f"tokens fetched {fetched:>7}: " + "; ".join(
            f"{kind} {cost:7.1f} us per record ({cost / baseline:5.2f}x the 0-token plain cost)"
            for kind, cost in costs.items()))
    del app_token, client_secret, current


if __name__ == "__main__":
    main()
