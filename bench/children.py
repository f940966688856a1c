"""Measurements that need a fresh interpreter; run by ``run.py``, print one JSON line.

``python bench/children.py paginate --mode lean --url URL --pki DIR --n 100000``
    Walk every transaction of one account and report time and RSS growth.
    Modes: ``lean`` (``session.data.iter_transactions``), ``requests`` and
    ``httpx`` (a hand-written page loop with ``.json()``), and ``lean-list``
    (the control: ``list(session.data.iter_transactions(...))`` keeps every
    item, showing what *not* streaming would cost and that the instrument
    sees memory growth).

    RSS growth = peak RSS during the walk minus RSS just before it (after the
    client was built and one page fetched, so imports and connection set-up are
    not counted).  The peak is the kernel's VmHWM after resetting it through
    ``/proc/self/clear_refs`` (falls back to the un-reset VmHWM, which can only
    over-state), cross-checked by sampling VmRSS every 1,000 items.

``python bench/children.py export --mode lean --concurrency 8 --url URL --pki DIR --n 100000``
    The bulk-export comparison of ``bench/export.py`` (issue 13): walk every
    transaction of one account against a server that holds each answer
    ``--latency`` seconds.  Modes: ``requests`` and ``httpx`` (hand-written
    page loops), ``httpx-async`` (``httpx.AsyncClient``, the first page, then
    ``asyncio.gather`` over the rest under a semaphore of ``--concurrency``:
    the best a user writes by hand; it keeps every page until the gather
    ends), ``lean`` (``iter_transactions(concurrency=...)``).  Reports wall
    time, RSS growth (as ``paginate``), the count and a SHA-256 of the
    transaction ids in order, so the parent can check the sequences match.

``python bench/children.py build --pki DIR --n 30``
    Time ``LeanSession(...)`` from files: the first build in a fresh process
    (includes lazily imported modules such as cryptography) and the median of
    the following ``n``; plus two references: ``requests.Session()`` with
    ``cert=``/``verify=`` set, and ``ssl.create_default_context(cafile)`` +
    ``load_cert_chain`` (the floor for parsing the files into a context).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _env import scrub

scrub()

ENTITY = "ent-7f0c2d1e"
ACCOUNT = "acc-bench-0001"


def proc_status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])  # kB
    return out


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _page_loop(get: Any, url: str, n: int) -> Any:
    page = 0
    while True:
        body = get(url, {"entity_id": ENTITY, "page": page, "size": 100})
        data = body["data"]
        yield from data["transactions"]
        if page + 1 >= data["page"]["total_pages"] or not data["transactions"]:
            return
        page += 1


def paginate(args: argparse.Namespace) -> dict[str, Any]:
    from pki import load_pki

    pki = load_pki(args.pki)
    path = f"/data/v2/accounts/{ACCOUNT}/transactions"
    if args.mode in {"lean", "lean-list"}:
        from clients import Lean

        session = Lean(pki, args.url).session
        session.data.transactions(ENTITY, ACCOUNT, page=0, size=100)  # warm: connection, lazy imports

        def items() -> Any:
            return session.data.iter_transactions(ENTITY, ACCOUNT)
    elif args.mode == "requests":
        from clients import Requests

        rs = Requests(pki, args.url).session

        def rget(url: str, params: dict[str, Any]) -> Any:
            r = rs.get(url, params=params)
            r.raise_for_status()
            return r.json()

        rget(args.url + path, {"entity_id": ENTITY, "page": 0, "size": 100})

        def items() -> Any:
            return _page_loop(rget, args.url + path, args.n)
    elif args.mode == "httpx":
        from clients import Httpx

        hc = Httpx(pki, args.url).client

        def hget(url: str, params: dict[str, Any]) -> Any:
            r = hc.get(url, params=params)
            r.raise_for_status()
            return r.json()

        hget(args.url + path, {"entity_id": ENTITY, "page": 0, "size": 100})

        def items() -> Any:
            return _page_loop(hget, args.url + path, args.n)
    else:
        raise SystemExit(f"unknown mode {args.mode}")

    gc.collect()
    peak_was_reset = reset_peak()
    before = proc_status()
    sampled_max = before["VmRSS"]
    count = 0
    last_id = None
    kept = None
    started = time.perf_counter()
    cpu_started = time.process_time()
    if args.mode == "lean-list":
        kept = list(items())
        count = len(kept)
        last_id = kept[-1]["transaction_id"] if kept else None
        sampled_max = max(sampled_max, proc_status()["VmRSS"])
    else:
        for item in items():
            count += 1
            last_id = item["transaction_id"]
            if count % 1000 == 0:
                rss = proc_status()["VmRSS"]
                if rss > sampled_max:
                    sampled_max = rss
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    after = proc_status()
    expected_last = f"txn-{args.n - 1:09d}"
    return {
        "mode": args.mode,
        "items": count,
        "complete": count == args.n and last_id == expected_last,
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "rss_before_kb": before["VmRSS"],
        "hwm_kb": after["VmHWM"],
        "sampled_max_kb": sampled_max,
        "growth_mb": max(after["VmHWM"], sampled_max) / 1024 - before["VmRSS"] / 1024,
        "peak_was_reset": peak_was_reset,
    }


def _export_items(args: argparse.Namespace) -> tuple[Any, Any]:
    """(warm-up, walk) for one export competitor: the warm-up makes one request."""
    from pki import load_pki

    pki = load_pki(args.pki)
    path = f"/data/v2/accounts/{ACCOUNT}/transactions"
    url = args.url + path
    first = {"entity_id": ENTITY, "page": 0, "size": 100}
    if args.mode == "lean":
        from clients import Lean

        session = Lean(pki, args.url).session
        return (lambda: session.data.transactions(ENTITY, ACCOUNT, page=0, size=100),
                lambda: session.data.iter_transactions(ENTITY, ACCOUNT, concurrency=args.concurrency))
    if args.mode == "requests":
        from clients import Requests

        rs = Requests(pki, args.url).session

        def rget(u: str, params: dict[str, Any]) -> Any:
            r = rs.get(u, params=params)
            r.raise_for_status()
            return r.json()

        return (lambda: rget(url, first)), (lambda: _page_loop(rget, url, args.n))
    if args.mode == "httpx":
        from clients import Httpx

        hc = Httpx(pki, args.url).client

        def hget(u: str, params: dict[str, Any]) -> Any:
            r = hc.get(u, params=params)
            r.raise_for_status()
            return r.json()

        return (lambda: hget(url, first)), (lambda: _page_loop(hget, url, args.n))
    if args.mode == "httpx-async":
        import asyncio

        import httpx
        from clients import client_context

        loop = asyncio.new_event_loop()
        client = httpx.AsyncClient(verify=client_context(pki))

        async def aget(page: int) -> Any:
            r = await client.get(url, params={"entity_id": ENTITY, "page": page, "size": 100})
            r.raise_for_status()
            return r.json()

        async def walk() -> list[Any]:
            body = await aget(0)
            total = body["data"]["page"]["total_pages"]
            semaphore = asyncio.Semaphore(args.concurrency)

            async def limited(page: int) -> Any:
                async with semaphore:
                    return await aget(page)

            rest = await asyncio.gather(*(limited(page) for page in range(1, total)))
            return [body, *rest]

        def items() -> Any:
            for body in loop.run_until_complete(walk()):
                yield from body["data"]["transactions"]

        return (lambda: loop.run_until_complete(aget(0))), items
    raise SystemExit(f"unknown mode {args.mode}")


def export(args: argparse.Namespace) -> dict[str, Any]:
    import hashlib

    warm, items = _export_items(args)
    warm()  # connection, lazy imports: not measured
    gc.collect()
    peak_was_reset = reset_peak()
    before = proc_status()
    sampled_max = before["VmRSS"]
    digest = hashlib.sha256()
    count = 0
    started = time.perf_counter()
    cpu_started = time.process_time()
    for item in items():
        count += 1
        digest.update(item["transaction_id"].encode() + b"\n")
        if count % 1000 == 0:
            sampled_max = max(sampled_max, proc_status()["VmRSS"])
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    after = proc_status()
    return {
        "mode": args.mode,
        "concurrency": args.concurrency,
        "items": count,
        "sha256": digest.hexdigest(),
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "growth_mb": max(after["VmHWM"], sampled_max) / 1024 - before["VmRSS"] / 1024,
        "peak_was_reset": peak_was_reset,
    }


def build(args: argparse.Namespace) -> dict[str, Any]:
    import ssl

    import requests
    from pki import load_pki  # imports nothing heavy: the first build below still pays lazy imports

    import lean_mtls

    APP_TOKEN = "bench-app-token-not-secret"

    pki = load_pki(args.pki)

    def lean() -> Any:
        return lean_mtls.LeanSession(APP_TOKEN, cert=pki.client_leaf, key=pki.client_key, ca=pki.ca_bundle,
                                     base_url="https://127.0.0.1:9")

    def plain() -> Any:
        s = requests.Session()
        s.cert = (pki.client_chain, pki.client_key)
        s.verify = pki.ca_bundle
        return s

    def context() -> Any:
        c = ssl.create_default_context(cafile=pki.ca_bundle)
        c.load_cert_chain(pki.client_chain, pki.client_key)
        return c

    t0 = time.perf_counter()
    first = lean()
    first_ms = (time.perf_counter() - t0) * 1000
    first.close()
    samples: dict[str, list[float]] = {"lean": [], "requests": [], "ssl_context": []}
    fns = {"lean": lean, "requests": plain, "ssl_context": context}
    for _ in range(args.n):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            obj = fn()
            samples[name].append((time.perf_counter() - t0) * 1000)
            if hasattr(obj, "close"):
                obj.close()
    return {"first_ms": first_ms, **{f"{k}_ms": statistics.median(v) for k, v in samples.items()},
            "lean_min_ms": min(samples["lean"]), "lean_max_ms": max(samples["lean"])}


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("paginate")
    p.add_argument("--mode", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--pki", required=True)
    p.add_argument("--n", type=int, required=True)
    e = sub.add_parser("export")
    e.add_argument("--mode", required=True)
    e.add_argument("--url", required=True)
    e.add_argument("--pki", required=True)
    e.add_argument("--n", type=int, required=True)
    e.add_argument("--concurrency", type=int, default=1)
    b = sub.add_parser("build")
    b.add_argument("--pki", required=True)
    b.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    commands = {"paginate": paginate, "export": export, "build": build}
    result = commands[args.command](args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
