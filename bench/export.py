"""Bulk export at the speed of the network (issue 13): page walks side by side under latency.

    python bench/export.py                              # 1,000 pages of 100 at 20 ms, about 2 minutes
    python bench/export.py --latency 0.05 --pages 400   # other latency / size
    python bench/export.py --repeats 3                  # more runs (medians)
    python bench/export.py --markdown bench/RESULTS.md --append   # add the report to RESULTS.md

The server (``bench/server.py``, its own process) holds every answer
``--latency`` seconds, as Lean's round trip would.  Each competitor walks the
same ``--pages`` pages of 100 transactions in a fresh child process
(``bench/children.py export``):

* ``requests.Session`` page loop and ``httpx.Client`` page loop (one page after the other);
* ``httpx.AsyncClient`` + ``asyncio.gather`` + a semaphore of ``--concurrency``
  (the first page, then every other page at once: the best hand-written version);
* ``LeanSession.data.iter_transactions(concurrency=1)`` and ``(concurrency=8)``.

Reported per competitor: wall time, the limit (pages / concurrency x latency),
requests the server saw, peak RSS growth during the walk, and whether the item
sequence (SHA-256 of the transaction ids in order) is identical to the others.
Ratios are taken within one repeat (the competitors run back to back, their
order rotating per repeat) and the median over repeats is printed.  Nothing is
asserted: the goals table says PASS or MISS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _env import scrub  # noqa: E402

SCRUBBED_ENV = scrub()

import run  # noqa: E402  (its machine description, tables and bytecode set-up for children)
from pki import make_pki  # noqa: E402
from run import PYCACHE, _busy_seconds, _own_seconds, load_at_end, machine, md_table, text_table  # noqa: E402
from server import ServerProcess, delta  # noqa: E402

run.SCRUBBED_ENV = SCRUBBED_ENV  # scrubbed here first, so run's own scrub found nothing

#: Issue 13's goals.
GOAL_VS_REQUESTS = 6.0  # LeanSession concurrency=8 at least this many times faster than the requests loop
GOAL_VS_ASYNC = 1.15  # ... and no slower than this times the hand-written async httpx version
GOAL_VS_LIMIT = 1.3  # ... and within this of pages / 8 x latency
GOAL_RSS_MB = 20.0  # RSS growth for 100,000 transactions at concurrency=8

PAGE = 100


def competitors(concurrency: int) -> list[tuple[str, str, int]]:
    """(key, label, concurrency) in report order."""
    return [
        ("requests", "requests.Session page loop", 1),
        ("httpx", "httpx.Client page loop", 1),
        ("httpx-async", f"httpx.AsyncClient + asyncio.gather + semaphore({concurrency})", concurrency),
        ("lean-1", "LeanSession iter_transactions(concurrency=1)", 1),
        (f"lean-{concurrency}", f"LeanSession iter_transactions(concurrency={concurrency})", concurrency),
    ]


def run_child(mode: str, concurrency: int, url: str, pki_dir: str, n: int) -> dict[str, Any]:
    argv = [sys.executable, os.path.join(HERE, "children.py"), "export", "--mode", mode, "--url", url,
            "--pki", pki_dir, "--n", str(n), "--concurrency", str(concurrency)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        raise RuntimeError(f"{mode}: {last}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000, help="pages of 100 transactions (default 1000)")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds per answer (default 0.020)")
    parser.add_argument("--concurrency", type=int, default=8, help="pages in flight (default 8)")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every competitor (default 1)")
    parser.add_argument("--markdown", metavar="PATH", help="also write the report as markdown")
    parser.add_argument("--append", action="store_true", help="append to --markdown instead of replacing it")
    args = parser.parse_args(argv)
    n = args.pages * PAGE
    conc = args.concurrency
    comps = competitors(conc)
    limit = args.pages / conc * args.latency
    started = time.perf_counter()
    busy0, own0 = _busy_seconds(), _own_seconds()
    mach = machine()
    pki = make_pki("rsa")
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in comps}
    errors: dict[str, str] = {}
    try:
        with ServerProcess(pki.server_cert, pki.server_key, pki.client_root, transactions=n,
                           latency=args.latency) as server:
            print(f"server pid {server.pid}, {args.pages} pages x {PAGE}, latency {args.latency * 1000:.0f} ms, "
                  f"limit {limit:.2f} s", file=sys.stderr)
            for r in range(args.repeats):
                order = comps[r % len(comps):] + comps[:r % len(comps)]
                for key, _label, c in order:
                    mode = "lean" if key.startswith("lean") else key
                    before = server.stats()
                    try:
                        result = run_child(mode, c, server.url, str(pki.directory), n)
                    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                        errors[key] = str(exc)[:200]
                        print(f"  ! {key}: {errors[key]}", file=sys.stderr)
                        continue
                    d = delta(server.stats(), before)
                    result["requests"] = d["requests"] - 1  # the child's one warm-up request is not the walk
                    result["connections"] = d["accepted"]
                    runs[key].append(result)
                    print(f"  repeat {r + 1}: {key:14s} {result['seconds']:7.2f} s  {result['items']} items  "
                          f"{result['requests']} requests  RSS +{result['growth_mb']:.1f} MB", file=sys.stderr)
    finally:
        pki.cleanup()
        shutil.rmtree(PYCACHE, ignore_errors=True)
    seconds = time.perf_counter() - started
    mach.extend(load_at_end(seconds, busy0, own0))

    def per_repeat_ratio(a: str, b: str) -> float | None:
        pairs = [x["seconds"] / y["seconds"] for x, y in zip(runs[a], runs[b]) if y["seconds"]]
        return statistics.median(pairs) if pairs else None

    lean_key = f"lean-{conc}"
    digests = {run["sha256"] for key in runs for run in runs[key]}
    reference = runs["requests"][0]["sha256"] if runs["requests"] else None
    rows = []
    for key, label, c in comps:
        if not runs[key]:
            rows.append([label, "ERROR", errors.get(key, "no data")] + [""] * 7)
            continue
        secs = statistics.median(r["seconds"] for r in runs[key])
        own_limit = args.pages / c * args.latency
        vs_req = per_repeat_ratio(key, "requests")
        rows.append([
            label, f"{secs:.2f}", f"{own_limit:.2f}", f"{secs / own_limit:.2f}x",
            f"{1 / vs_req:.2f}x" if vs_req else "?",
            str(max(r["requests"] for r in runs[key])), str(max(r["connections"] for r in runs[key])),
            f"{max(r['growth_mb'] for r in runs[key]):.1f}",
            f"{statistics.median(r['cpu_seconds'] for r in runs[key]):.2f}",
            "yes" if {r["sha256"] for r in runs[key]} == {reference} and
            all(r["items"] == n for r in runs[key]) else "NO",
        ])
    headers = ["competitor", "wall s", "limit s (pages/c x latency)", "vs its limit", "speed-up vs requests",
               "requests", "connections", "RSS growth MB", "client CPU s", "same items, same order"]

    goals: list[list[str]] = []
    if runs[lean_key]:
        lean_secs = statistics.median(r["seconds"] for r in runs[lean_key])
        vs_req = per_repeat_ratio("requests", lean_key)
        vs_async = per_repeat_ratio(lean_key, "httpx-async")
        growth = max(r["growth_mb"] for r in runs[lean_key])

        def goal(name: str, target: str, measured: str, ok: bool | None) -> None:
            goals.append([name, target, measured, "n/a" if ok is None else ("PASS" if ok else "MISS")])

        goal(f"LeanSession concurrency={conc} vs requests loop", f"≥ {GOAL_VS_REQUESTS:.0f}x faster",
             f"{vs_req:.2f}x faster" if vs_req else "?", vs_req is not None and vs_req >= GOAL_VS_REQUESTS)
        goal(f"LeanSession concurrency={conc} / httpx async gather", f"≤ {GOAL_VS_ASYNC}x",
             f"{vs_async:.3f}x" if vs_async else "?", vs_async is not None and vs_async <= GOAL_VS_ASYNC)
        goal(f"LeanSession concurrency={conc} / limit ({args.pages}/{conc} x {args.latency * 1000:.0f} ms)",
             f"≤ {GOAL_VS_LIMIT}x", f"{lean_secs / limit:.3f}x ({lean_secs:.2f} s / {limit:.2f} s)",
             lean_secs / limit <= GOAL_VS_LIMIT)
        rss_ok = growth < GOAL_RSS_MB if n == 100_000 else None
        goal(f"LeanSession concurrency={conc} RSS growth for {n:,} transactions", f"< {GOAL_RSS_MB:.0f} MB"
             + ("" if n == 100_000 else " (for 100,000)"), f"{growth:.1f} MB", rss_ok)
        goal("Item sequences identical across competitors", "one SHA-256", f"{len(digests)} distinct",
             len(digests) == 1)

    title = (f"Bulk export: {args.pages:,} pages of {PAGE} transactions, {args.latency * 1000:.0f} ms per answer "
             f"(issue 13)")
    print()
    print("\n".join(f"{k}: {v}" for k, v in mach))
    print(f"\n== {title}\n" + text_table(headers, rows))
    print("\n== Goals (issue 13)\n" + text_table(["goal", "target", "measured", "result"], goals))
    if args.markdown:
        command = "python bench/export.py" + "".join(
            f" --{k} {v}" for k, v in (("pages", args.pages), ("latency", args.latency),
                                       ("concurrency", conc), ("repeats", args.repeats))
            if v != parser.get_default(k))
        text = "\n".join([
            f"# {title}" if not args.append else f"## {title}",
            "",
            f"Produced by `{command}` ({seconds:.0f} s) on {time.strftime('%Y-%m-%d %H:%M %Z')}; "
            f"{args.repeats} run(s) of each competitor, each in a fresh child process, medians shown. "
            "See `bench/export.py` for what each competitor does.",
            "",
            md_table(["", ""], [[k, v] for k, v in mach]),
            "",
            md_table(["goal", "target", "measured", "result"], [[*g[:3], f"**{g[3]}**"] for g in goals]),
            "",
            md_table(headers, rows),
            "",
            "- limit = pages / concurrency x latency: the time the waiting alone takes, whatever the client.",
            "- requests: as counted by the server for the walk (the child's warm-up request excluded); "
            "connections: new connections the server accepted (warm-up included).",
            "- RSS growth: peak RSS during the walk minus RSS before it (the client built, one page fetched). "
            "The async version keeps every page until `asyncio.gather` returns, so it grows with the export.",
            "",
        ])
        with open(args.markdown, "a" if args.append else "w") as f:
            f.write(("\n" if args.append else "") + text)
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
