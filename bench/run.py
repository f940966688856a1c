"""lean_mtls benchmarks (issue 6): LeanSession vs requests vs httpx vs a raw ssl socket.

    python bench/run.py                                # full run, a few minutes
    python bench/run.py --quick                        # smoke run, < 60 s
    python bench/run.py --markdown bench/RESULTS.md    # also write the report as markdown
    python bench/run.py --only keepalive,cold          # some sections only

Sections: keepalive, cold, threads, pagination, startup (see bench/README.md).
Every section runs its competitors side by side against one loopback mTLS
server running in a separate process, interleaves the repeats (the order of
the competitors rotates every repeat), and reports medians.  Ratios are the
median of the per-repeat ratios (each repeat's LeanSession batch divided by
the batch of the competitor that ran next to it).  Nothing is asserted: rows
carry the issue's goal and PASS/MISS.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import tempfile  # noqa: E402

from _env import bytecode_cache, scrub  # noqa: E402

SCRUBBED_ENV = scrub()  # before requests reads anything; see bench/_env.py
ORIGINAL_ENV = dict(os.environ)
PYCACHE = tempfile.mkdtemp(prefix="lean-mtls-bench-pycache-")
DONTWRITEBYTECODE_WAS_SET = bytecode_cache(PYCACHE)  # children only; see bench/_env.py

import clients  # noqa: E402
from pki import PKI, make_pki  # noqa: E402
from server import ServerProcess, delta  # noqa: E402

SECTIONS = ("keepalive", "cold", "threads", "pagination", "startup")

CONFIGS: dict[str, dict[str, Any]] = {
    "full": dict(ka_batch=300, ka_repeats=9, ka_warmup=50, cold_batch=40, cold_repeats=7, thr_total=2000,
                 thr_repeats=5, thr_counts=(1, 8, 32), pag_n=100_000, pag_repeats=3, pag_control=True,
                 startup_runs=21, build_n=30),
    "quick": dict(ka_batch=100, ka_repeats=3, ka_warmup=20, cold_batch=15, cold_repeats=3, thr_total=400,
                  thr_repeats=1, thr_counts=(1, 8, 32), pag_n=100_000, pag_repeats=1, pag_control=False,
                  startup_runs=5, build_n=10),
}

# The goals.
GOAL_KA_VS_REQUESTS = 0.65
GOAL_KA_VS_HTTPX = 1.0
GOAL_COLD_VS_REQUESTS = 0.5
GOAL_RESUMED_SHARE = 0.9
GOAL_IMPORT_MS = 30.0
GOAL_BUILD_MS = 20.0
GOAL_RSS_MB = 20.0


# --------------------------------------------------------------------------- report model


@dataclass
class Goal:
    name: str
    target: str
    measured: str
    ok: bool | None  # None: could not be measured

    @property
    def mark(self) -> str:
        return "n/a" if self.ok is None else ("PASS" if self.ok else "MISS")


@dataclass
class Section:
    title: str
    what: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    sections: list[Section] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def esc(v: object) -> str:
        return str(v).replace("|", "\\|")

    out = ["| " + " | ".join(esc(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def med(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """Half the inter-quartile range, as a percentage of the median."""
    if len(values) < 3:
        return "-"
    q = statistics.quantiles(values, n=4, method="inclusive")
    m = statistics.median(values)
    return f"±{(q[2] - q[0]) / 2 / m * 100:.0f}%" if m else "-"


def ms(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1000:.3f}"


def us(seconds: float) -> str:
    return "-" if seconds != seconds else f"{seconds * 1e6:.0f}"


def ratio(x: float) -> str:
    return "-" if x != x else f"{x:.3f}x"  # three decimals: a verdict next to "1.00x" must be readable


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- helpers


class Runner:
    """Builds competitors once, remembers which ones failed and why."""

    def __init__(self, pki: PKI, server: ServerProcess, names: list[str]) -> None:
        self.server = server
        self.factories = clients.factories(pki, server.url, names)
        self.instances: dict[str, clients.Competitor] = {}
        self.errors: dict[str, str] = {}

    def get(self, name: str) -> clients.Competitor | None:
        if name in self.errors:
            return None
        if name not in self.instances:
            try:
                self.instances[name] = self.factories[name]()
            except Exception as exc:  # noqa: BLE001 - a broken competitor must not stop the run
                self.fail(name, exc)
                return None
        return self.instances[name]

    def fail(self, name: str, exc: BaseException) -> None:
        self.errors[name] = f"{type(exc).__name__}: {str(exc)[:160]}"
        log(f"  ! {name} failed: {self.errors[name]}")
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc()
        inst = self.instances.pop(name, None)
        if inst is not None:
            with contextlib.suppress(Exception):
                inst.close()

    def close_all(self) -> None:
        for inst in self.instances.values():
            with contextlib.suppress(Exception):
                inst.close()
        self.instances.clear()


def rotated(names: list[str], r: int) -> list[str]:
    k = r % len(names)
    return names[k:] + names[:k]


def paired_ratio(a: list[float], b: list[float]) -> float:
    pairs = [x / y for x, y in zip(a, b) if y]
    return med(pairs) if pairs else float("nan")


# --------------------------------------------------------------------------- 1. kept-alive


KA_NAMES = ["lean", "requests", "requests-noenv", "httpx", "raw-ssl", "lean-api"]
KA_LABELS = {
    "lean": "LeanSession .get()/.post()",
    "lean-api": "LeanSession .banks.list()/.customers.create() (info: + JSON decode)",
    "requests": "requests.Session (default, trust_env=True)",
    "requests-noenv": "requests.Session trust_env=False",
    "httpx": "httpx.Client (SSLContext)",
    "raw-ssl": "raw ssl socket (floor)",
    "raw-ssl-resume": "raw ssl socket + session= (floor with resumption)",
}


def bench_keepalive(runner: Runner, cfg: dict[str, Any], report: Report) -> None:
    ops: dict[str, Callable[[clients.Competitor], Callable[[], None]]] = {
        "GET /banks/v1/": lambda c: lambda: c.get("/banks/v1/"),
        "POST /customers/v1/": lambda c: lambda: c.post("/customers/v1/", clients.CUSTOMER),
    }
    server = runner.server
    section = Section(
        "1. Kept-alive requests (one connection, reused)",
        f"{cfg['ka_batch']} requests per batch, {cfg['ka_repeats']} interleaved repeats, after "
        f"{cfg['ka_warmup']} warm-up requests. Time is wall-clock per request; client CPU is this process's "
        "CPU per request; server CPU is the server process's CPU per request (it must stay well below the "
        "client's). Ratios: median of per-repeat ratios.",
        ["request", "competitor", "ms/req", "spread", "client CPU ms", "server CPU µs", "conns",
         "vs requests", "vs httpx", "goal", "result"],
    )
    raw: dict[str, Any] = {}
    for op_name, make in ops.items():
        samples: dict[str, dict[str, list[float]]] = {n: {"wall": [], "cpu": [], "srv": []} for n in KA_NAMES}
        conns: dict[str, int] = dict.fromkeys(KA_NAMES, 0)
        mismatches: list[str] = []
        for name in KA_NAMES:
            comp = runner.get(name)
            if comp is None:
                continue
            try:
                fn = make(comp)
                for _ in range(cfg["ka_warmup"]):
                    fn()
            except Exception as exc:  # noqa: BLE001
                runner.fail(name, exc)
        for r in range(cfg["ka_repeats"]):
            for name in rotated(KA_NAMES, r):
                comp = runner.get(name)
                if comp is None:
                    continue
                fn = make(comp)
                n = cfg["ka_batch"]
                gc.collect()
                before = server.stats()
                c0 = time.process_time()
                t0 = time.perf_counter()
                try:
                    for _ in range(n):
                        fn()
                except Exception as exc:  # noqa: BLE001
                    runner.fail(name, exc)
                    continue
                t1 = time.perf_counter()
                c1 = time.process_time()
                d = delta(server.stats(), before)
                if d["requests"] != n:
                    mismatches.append(f"{name}: server counted {d['requests']} requests for {n}")
                samples[name]["wall"].append((t1 - t0) / n)
                samples[name]["cpu"].append((c1 - c0) / n)
                samples[name]["srv"].append(d["process_cpu"] / max(d["requests"], 1))
                conns[name] += d["accepted"]
            log(f"  keepalive {op_name}: repeat {r + 1}/{cfg['ka_repeats']}")
        lean_w = samples["lean"]["wall"]
        for name in KA_NAMES:
            s = samples[name]
            if name in runner.errors and not s["wall"]:
                section.rows.append([op_name, KA_LABELS[name], "ERROR", runner.errors[name], "", "", "", "", "",
                                     "", ""])
                continue
            vs_req = paired_ratio(s["wall"], samples["requests"]["wall"])
            vs_httpx = paired_ratio(s["wall"], samples["httpx"]["wall"])
            goal, result = "", ""
            if name == "lean":
                goal = f"≤{GOAL_KA_VS_REQUESTS}x requests, ≤{GOAL_KA_VS_HTTPX}x httpx"
                ok1, ok2 = vs_req <= GOAL_KA_VS_REQUESTS, vs_httpx <= GOAL_KA_VS_HTTPX
                result = "PASS" if ok1 and ok2 else "MISS"
                report.goals.append(Goal(f"Kept-alive {op_name}: LeanSession / requests",
                                         f"≤ {GOAL_KA_VS_REQUESTS}x", ratio(vs_req), ok1 if s["wall"] else None))
                report.goals.append(Goal(f"Kept-alive {op_name}: LeanSession / httpx",
                                         f"≤ {GOAL_KA_VS_HTTPX}x", ratio(vs_httpx), ok2 if s["wall"] else None))
            section.rows.append([
                op_name, KA_LABELS[name], ms(med(s["wall"])), spread(s["wall"]), ms(med(s["cpu"])),
                us(med(s["srv"])), str(conns[name]), ratio(vs_req), ratio(vs_httpx), goal, result,
            ])
            raw[f"{op_name}|{name}"] = {k: v for k, v in s.items()}
        if lean_w and samples["requests-noenv"]["wall"]:
            section.notes.append(
                f"{op_name}: requests trust_env=False / requests default = "
                f"{ratio(paired_ratio(samples['requests-noenv']['wall'], samples['requests']['wall']))} "
                "(the issue's 'environment scanning only' reference point)."
            )
        section.notes += [f"instrument check failed: {m}" for m in mismatches]
    section.notes.append("conns = new connections the server accepted during the measured batches "
                         "(0 expected: everything was kept alive).")
    report.sections.append(section)
    report.raw["keepalive"] = raw


# --------------------------------------------------------------------------- 2. new connection per request


COLD_CONFIGS = [  # (competitor, mode)
    ("lean", "drop"), ("requests", "drop"), ("requests-noenv", "drop"), ("httpx", "drop"),
    ("lean", "close"), ("requests", "close"), ("requests-noenv", "close"), ("httpx", "close"),
    ("raw-ssl", "close"), ("raw-ssl-resume", "close"),
    ("lean", "server"), ("requests", "server"), ("requests-noenv", "server"), ("httpx", "server"),
]
MODE_LABEL = {"drop": "client drops pool", "close": "Connection: close", "server": "server closes every answer"}
#: The request path per mode: "/close..." makes the benchmark server answer ``Connection: close`` and
#: close after the answer although the request did not ask (issue 10 item 15, issue 13).
COLD_PATH = {"drop": "/banks/v1/", "close": "/banks/v1/", "server": "/close/banks/v1/"}


def bench_cold(runner: Runner, cfg: dict[str, Any], report: Report) -> None:
    server = runner.server
    keys = [f"{n}|{m}" for n, m in COLD_CONFIGS]
    samples: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": [], "srv": [], "hs_cpu": []} for k in keys}
    counts: dict[str, dict[str, int]] = {k: {"accepted": 0, "full": 0, "resumed": 0, "requests": 0} for k in keys}
    mismatches: list[str] = []
    # One untimed request per competitor on a new connection first, so every
    # client has had the chance to keep a TLS session before measuring.
    for name, mode in COLD_CONFIGS:
        comp = runner.get(name)
        if comp is None:
            continue
        try:
            if mode == "drop":
                comp.drop_pool()
            comp.get(COLD_PATH[mode], close=mode == "close")
        except Exception as exc:  # noqa: BLE001
            runner.fail(name, exc)
    for r in range(cfg["cold_repeats"]):
        for key in rotated(keys, r):
            name, mode = key.split("|")
            comp = runner.get(name)
            if comp is None:
                continue
            n = cfg["cold_batch"]
            close = mode == "close"
            path = COLD_PATH[mode]
            get, drop = comp.get, comp.drop_pool
            try:
                drop()  # a connection left alive by this client's keep-alive or 'drop' batch must not serve
            except Exception as exc:  # noqa: BLE001 - the first 'Connection: close' request
                runner.fail(name, exc)
                continue
            gc.collect()
            before = server.stats()
            c0 = time.process_time()
            total = 0.0
            try:
                for _ in range(n):
                    if mode == "drop":
                        drop()
                    t0 = time.perf_counter()
                    get(path, close=close)
                    total += time.perf_counter() - t0
            except Exception as exc:  # noqa: BLE001
                runner.fail(name, exc)
                continue
            c1 = time.process_time()
            d = delta(server.stats(), before)
            if d["accepted"] != n or d["requests"] != n:
                mismatches.append(f"{key}: server saw {d['accepted']} connections / {d['requests']} requests "
                                  f"for {n} requests")
            samples[key]["wall"].append(total / n)
            samples[key]["cpu"].append((c1 - c0) / n)
            samples[key]["srv"].append(d["process_cpu"] / max(d["requests"], 1))
            samples[key]["hs_cpu"].append(d["handshake_cpu"] / max(d["handshakes"], 1))
            for k in counts[key]:
                counts[key][k] += d[k]
        log(f"  cold: repeat {r + 1}/{cfg['cold_repeats']}")
    section = Section(
        "2. New connection per request (pool forced cold)",
        f"{cfg['cold_batch']} requests per batch, {cfg['cold_repeats']} interleaved repeats; every request "
        "opens a new TCP + mTLS connection. 'client drops pool': the client's idle pooled connections are "
        "dropped before each request (requests/LeanSession: `adapter.poolmanager.clear()` on every mounted "
        "adapter; httpx: `transport._pool.close()`), the client object is kept. 'Connection: close': the "
        "request asks the server to close after answering; the client reconnects through the same pool. "
        "'server closes every answer': the request does not ask, the server answers `Connection: close` and "
        "closes after each answer (a TLS 1.3 server; the client reconnects through the same pool). "
        "Time covers only the request (drop excluded); client CPU includes the drop. Handshakes are counted "
        "by the server: full vs resumed (`SSLSocket.session_reused`).",
        ["mode", "competitor", "ms/req", "spread", "client CPU ms", "server CPU µs", "srv handshake µs",
         "conns", "full hs", "resumed", "vs requests", "goal", "result"],
    )
    for key in keys:
        name, mode = key.split("|")
        s, c = samples[key], counts[key]
        label = KA_LABELS[name]
        if not s["wall"]:
            section.rows.append([MODE_LABEL[mode], label, "ERROR", runner.errors.get(name, "no data")]
                                + [""] * 9)
            continue
        req_key = f"requests|{mode}"
        vs_req = paired_ratio(s["wall"], samples[req_key]["wall"]) if not name.startswith("raw") else \
            paired_ratio(s["wall"], samples["requests|close"]["wall"])
        goal, result = "", ""
        if name == "lean":
            goal = f"≤{GOAL_COLD_VS_REQUESTS}x requests; reconnects resumed"
            ok_ratio = vs_req <= GOAL_COLD_VS_REQUESTS
            handshakes = c["full"] + c["resumed"]
            share = c["resumed"] / handshakes if handshakes else 0.0
            ok_resume = share >= GOAL_RESUMED_SHARE
            result = "PASS" if ok_ratio and ok_resume else "MISS"
            report.goals.append(Goal(f"New connection ({MODE_LABEL[mode]}): LeanSession / requests",
                                     f"≤ {GOAL_COLD_VS_REQUESTS}x", ratio(vs_req), ok_ratio))
            report.goals.append(Goal(f"New connection ({MODE_LABEL[mode]}): LeanSession reconnects resumed",
                                     f"≥ {GOAL_RESUMED_SHARE:.0%} of handshakes",
                                     f"{c['resumed']}/{handshakes} ({share:.0%})", ok_resume))
        section.rows.append([
            MODE_LABEL[mode], label, ms(med(s["wall"])), spread(s["wall"]), ms(med(s["cpu"])),
            us(med(s["srv"])), us(med(s["hs_cpu"])), str(c["accepted"]), str(c["full"]), str(c["resumed"]),
            ratio(vs_req), goal, result,
        ])
    section.notes.append("raw-ssl rows are compared with requests in 'Connection: close' mode.")
    section.notes.append("server CPU µs is per request *including* its handshake; 'srv handshake µs' is the "
                         "server thread's CPU for the handshake alone (full or resumed).")
    section.notes += [f"instrument check failed: {m}" for m in mismatches]
    report.sections.append(section)
    report.raw["cold"] = {"samples": samples, "counts": counts}


# --------------------------------------------------------------------------- 3. threads


THREAD_NAMES = ["lean", "requests", "httpx"]


def _run_threads(comp: clients.Competitor, threads: int, per_thread: int) -> tuple[float, list[BaseException]]:
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []
    get = comp.get

    def work() -> None:
        barrier.wait()
        try:
            for _ in range(per_thread):
                get("/banks/v1/")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return time.perf_counter() - t0, errors


def bench_threads(runner: Runner, cfg: dict[str, Any], report: Report) -> None:
    server = runner.server
    counts = cfg["thr_counts"]
    pool_size = clients.pool_size()
    tput: dict[tuple[str, int], list[float]] = {(n, t): [] for n in THREAD_NAMES for t in counts}
    opened: dict[tuple[str, int], list[int]] = {(n, t): [] for n in THREAD_NAMES for t in counts}
    peak: dict[tuple[str, int], list[int]] = {(n, t): [] for n in THREAD_NAMES for t in counts}
    srv_cpu: dict[tuple[str, int], list[float]] = {(n, t): [] for n in THREAD_NAMES for t in counts}
    errors: dict[str, str] = {}
    for r in range(cfg["thr_repeats"]):
        for threads in rotated(list(counts), r):
            for name in rotated(THREAD_NAMES, r):
                if name in errors:
                    continue
                time.sleep(0.05)  # let the server notice connections closed by the previous client
                start = server.mark()
                try:
                    comp = runner.factories[name]()  # a fresh client: every connection it opens is counted
                except Exception as exc:  # noqa: BLE001
                    errors[name] = f"{type(exc).__name__}: {exc}"
                    continue
                try:
                    _, errs = _run_threads(comp, threads, 3)  # warm-up: connections for every thread
                    before = server.stats()
                    per_thread = max(1, cfg["thr_total"] // threads)
                    elapsed, errs2 = _run_threads(comp, threads, per_thread)
                    after = server.stats()
                    if errs or errs2:
                        raise (errs or errs2)[0]
                finally:
                    comp.close()
                d = delta(after, before)
                total = per_thread * threads
                tput[(name, threads)].append(total / elapsed)
                opened[(name, threads)].append(after["accepted"] - start["accepted"])
                peak[(name, threads)].append(after["open_peak"] - start["open_now"])
                srv_cpu[(name, threads)].append(d["process_cpu"] / max(d["requests"], 1))
            log(f"  threads: repeat {r + 1}/{cfg['thr_repeats']}, {threads} threads")
    section = Section(
        "3. Threads sharing one client",
        f"{cfg['thr_total']} GET /banks/v1/ per run split over the threads, {cfg['thr_repeats']} interleaved "
        "repeats (thread counts and clients rotate). Each run uses a fresh client, warmed by 3 requests per "
        "thread; 'vs 1 thread' is the median of per-repeat ratios; 'opened' is every connection "
        "the client opened (warm-up + run), 'peak open' the most connections open at once, both counted by "
        f"the server. LeanSession pool size: {pool_size}; requests' default pool_maxsize is 10 (non-blocking: "
        "extra connections are opened and thrown away); httpx keeps up to 20 idle connections of 100.",
        ["competitor", "threads", "req/s", "spread", "vs 1 thread", "opened", "peak open", "server CPU µs",
         "goal", "result"],
    )
    for name in THREAD_NAMES:
        if name in errors:
            section.rows.append([KA_LABELS[name], "ERROR", errors[name][:160]] + [""] * 7)
            continue
        base = tput.get((name, 1), [])
        for threads in counts:
            t = tput[(name, threads)]
            rel = paired_ratio(t, base) if base else float("nan")  # per repeat, then the median
            o, p = max(opened[(name, threads)]), max(peak[(name, threads)])
            goal, result = "", ""
            if name == "lean" and threads == 8:
                goal = f"≥ 1-thread req/s; opened ≤ pool ({pool_size})"
                ok_t, ok_c = rel >= 1.0, o <= pool_size
                result = "PASS" if ok_t and ok_c else "MISS"
                report.goals.append(Goal("8 threads: LeanSession throughput vs 1 thread", "≥ 1.00x",
                                         ratio(rel), ok_t))
                report.goals.append(Goal("8 threads: LeanSession connections", f"≤ pool size ({pool_size})",
                                         str(o), ok_c))
            elif name == "lean" and threads > pool_size:
                goal = f"(info) opened ≤ pool ({pool_size})"
                result = "ok" if o <= pool_size else "over"
            section.rows.append([KA_LABELS[name], str(threads), f"{med(t):.0f}", spread(t), ratio(rel), str(o),
                                 str(p), us(med(srv_cpu[(name, threads)])), goal, result])
    section.notes.append("On 2 cores the client is GIL-bound: more threads cannot add CPU, so 'vs 1 thread' "
                         "measures how much the client loses to lock contention and context switches.")
    report.sections.append(section)
    report.raw["threads"] = {f"{k[0]}|{k[1]}": {"rps": v, "opened": opened[k], "peak": peak[k]}
                             for k, v in tput.items()}


# --------------------------------------------------------------------------- 4. pagination


def _child(args: list[str], timeout: float = 300) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, os.path.join(HERE, "children.py"), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def bench_pagination(runner: Runner, pki: PKI, cfg: dict[str, Any], report: Report) -> None:
    server = runner.server
    n = cfg["pag_n"]
    modes = ["lean", "requests", "httpx"]
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in [*modes, "lean-list"]}
    errors: dict[str, str] = {}
    plan = [m for r in range(cfg["pag_repeats"]) for m in rotated(modes, r)]
    if cfg["pag_control"]:
        plan.append("lean-list")
    for i, mode in enumerate(plan):
        if mode in errors:
            continue
        before = server.stats()
        try:
            res = _child(["paginate", "--mode", mode, "--url", server.url, "--pki", str(pki.directory),
                          "--n", str(n)])
        except Exception as exc:  # noqa: BLE001
            errors[mode] = f"{type(exc).__name__}: {exc}"
            log(f"  ! pagination {mode} failed: {errors[mode]}")
            continue
        d = delta(server.stats(), before)
        res["server_cpu_per_page"] = d["process_cpu"] / max(d["requests"], 1)
        res["pages"] = d["requests"]
        results[mode].append(res)
        log(f"  pagination {i + 1}/{len(plan)}: {mode} {res['seconds']:.2f} s, +{res['growth_mb']:.1f} MB")
    section = Section(
        f"4. Auto-pagination over {n:,} transactions (pages of 100)",
        "Each walk runs in a fresh child process. Time: the whole walk (median over repeats). RSS growth: "
        "peak RSS during the walk minus RSS before it, after the client was built and one page fetched "
        "(worst over repeats). requests/httpx: a hand-written page loop with `.json()`, streaming too. "
        "'lean-list' is the control: `list(iter_transactions(...))` keeps all items, so it must show growth.",
        ["competitor", "seconds", "µs/item", "client CPU s", "server CPU µs/page", "requests", "complete",
         "RSS growth MB", "goal", "result"],
    )
    labels = {"lean": "LeanSession data.iter_transactions()", "requests": "requests.Session page loop",
              "httpx": "httpx.Client page loop", "lean-list": "control: list(iter_transactions())"}
    lean_secs = [x["seconds"] for x in results["lean"]]
    for mode in [*modes, *(["lean-list"] if cfg["pag_control"] else [])]:
        rs = results[mode]
        if not rs:
            section.rows.append([labels[mode], "ERROR", errors.get(mode, "no data")[:160]] + [""] * 7)
            if mode == "lean":
                report.goals.append(Goal(f"Pagination {n:,}: LeanSession RSS growth", f"< {GOAL_RSS_MB:.0f} MB",
                                         "error", None))
            continue
        secs = med([x["seconds"] for x in rs])
        growth = max(x["growth_mb"] for x in rs)
        complete = all(x["complete"] for x in rs)
        goal, result = "", ""
        if mode == "lean":
            goal = f"RSS growth < {GOAL_RSS_MB:.0f} MB"
            ok = growth < GOAL_RSS_MB and complete
            result = "PASS" if ok else "MISS"
            report.goals.append(Goal(f"Pagination {n:,}: LeanSession RSS growth", f"< {GOAL_RSS_MB:.0f} MB",
                                     f"{growth:.1f} MB" + ("" if complete else " (INCOMPLETE walk)"), ok))
        elif mode in {"requests", "httpx"} and lean_secs:
            goal = f"(info) LeanSession time {med(lean_secs) / secs:.2f}x this"
        section.rows.append([labels[mode], f"{secs:.2f}", f"{secs / n * 1e6:.1f}",
                             f"{med([x['cpu_seconds'] for x in rs]):.2f}",
                             us(med([x['server_cpu_per_page'] for x in rs])), str(rs[0]["pages"]),
                             "yes" if complete else "NO", f"{growth:.1f}", goal, result])
    if any(not x.get("peak_was_reset", True) for v in results.values() for x in v):
        section.notes.append("/proc/self/clear_refs was not writable: VmHWM was not reset, growth may be "
                             "over-stated.")
    report.sections.append(section)
    report.raw["pagination"] = results


# --------------------------------------------------------------------------- 5. start-up


IMPORT_STMTS = {"python -c pass": "pass", "import requests": "import requests", "import httpx": "import httpx",
                "import lean_mtls": "import lean_mtls"}


def _importtime(stmt: str) -> dict[str, tuple[int, int]]:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt], capture_output=True, text=True,
                          cwd=ROOT)
    out: dict[str, tuple[int, int]] = {}
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        parts = line[len("import time:"):].split("|")
        out[parts[2].strip()] = (int(parts[0]), int(parts[1]))
    return out


def _timed_run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one child interpreter; CPU from the reaped child's rusage."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def bench_startup(pki: PKI, cfg: dict[str, Any], report: Report) -> None:
    names = list(IMPORT_STMTS)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for label in names:  # fill the bytecode cache (PYTHONPYCACHEPREFIX) first
        _timed_run([sys.executable, "-c", IMPORT_STMTS[label]])
    for r in range(cfg["startup_runs"]):
        for label in rotated(names, r):
            w, c = _timed_run([sys.executable, "-c", IMPORT_STMTS[label]])
            wall[label].append(w)
            cpu[label].append(c)
    log("  startup: imports done")
    as_is: dict[str, list[float]] = {"import requests": [], "import lean_mtls": []}
    if DONTWRITEBYTECODE_WAS_SET:  # also as this environment runs it: lean_mtls compiled from source
        for r in range(max(3, cfg["startup_runs"] // 3)):
            for label in rotated(list(as_is), r):
                as_is[label].append(_timed_run([sys.executable, "-c", IMPORT_STMTS[label]], ORIGINAL_ENV)[1])
    base_w, base_c = med(wall["python -c pass"]), med(cpu["python -c pass"])
    section = Section(
        "5. Start-up",
        f"`python -c ...` in a fresh interpreter, {cfg['startup_runs']} interleaved runs (cwd = repo root): wall "
        "time and the child's CPU time (user + system, from its rusage; less sensitive to other load on the "
        "machine than wall time, and what the import goal is judged on). Differences are medians of per-round "
        "differences. Bytecode is cached for every package alike in a temporary PYTHONPYCACHEPREFIX, filled by "
        "one unmeasured run of each statement (see bench/_env.py). Session build from files: timed in a fresh "
        f"child process (the first build, then the median of {cfg['build_n']} more).",
        ["what", "wall median ms", "spread", "wall min ms", "CPU median ms", "CPU minus bare python ms", "goal",
         "result"],
    )
    for label in names:
        section.rows.append([label, f"{med(wall[label]) * 1000:.1f}", spread(wall[label]),
                             f"{min(wall[label]) * 1000:.1f}", f"{med(cpu[label]) * 1000:.1f}",
                             f"{(med(cpu[label]) - base_c) * 1000:.1f}", "", ""])
    del base_w

    def paired_diff(samples: dict[str, list[float]]) -> float:
        return med([a - b for a, b in zip(samples["import lean_mtls"], samples["import requests"])]) * 1000

    wall_diff, cpu_diff = paired_diff(wall), paired_diff(cpu)
    ok = cpu_diff <= GOAL_IMPORT_MS
    section.rows.append(["import lean_mtls - import requests", f"{wall_diff:.1f}", "", "", f"{cpu_diff:.1f}", "",
                         f"≤ {GOAL_IMPORT_MS:.0f} ms (CPU)", "PASS" if ok else "MISS"])
    if as_is["import lean_mtls"]:
        section.rows.append(["(info) same difference without .pyc for lean_mtls (PYTHONDONTWRITEBYTECODE=1, "
                             "as this environment sets it)", "", "", "", f"{paired_diff(as_is):.1f}", "", "", ""])
    report.goals.append(Goal("import lean_mtls over import requests (CPU; wall in section 5)",
                             f"≤ {GOAL_IMPORT_MS:.0f} ms", f"{cpu_diff:.1f} ms (wall {wall_diff:.1f} ms)", ok))
    try:
        _child(["build", "--pki", str(pki.directory), "--n", "1"])  # fill the bytecode cache (cryptography...)
        b = _child(["build", "--pki", str(pki.directory), "--n", str(cfg["build_n"])])
        ok_b = b["lean_ms"] <= GOAL_BUILD_MS
        section.rows.append(["LeanSession(...) from files, warm (median)", f"{b['lean_ms']:.2f}",
                             f"max {b['lean_max_ms']:.2f}", f"{b['lean_min_ms']:.2f}", "", "",
                             f"≤ {GOAL_BUILD_MS:.0f} ms", "PASS" if ok_b else "MISS"])
        section.rows.append(["LeanSession(...) first build in a fresh process (info: lazy imports)",
                             f"{b['first_ms']:.2f}", "", "", "", "", "", ""])
        section.rows.append(["(ref) requests.Session() + cert/verify attributes", f"{b['requests_ms']:.3f}", "", "",
                             "", "", "", ""])
        section.rows.append(["(ref) ssl.create_default_context(cafile) + load_cert_chain", f"{b['ssl_context_ms']:.2f}",
                             "", "", "", "", "", ""])
        report.goals.append(Goal("LeanSession build from files (warm median)", f"≤ {GOAL_BUILD_MS:.0f} ms",
                                 f"{b['lean_ms']:.2f} ms", ok_b))
        report.raw["build"] = b
    except Exception as exc:  # noqa: BLE001
        section.rows.append(["LeanSession(...) from files", "ERROR", str(exc)[:160], "", "", "", "", ""])
        report.goals.append(Goal("LeanSession build from files", f"≤ {GOAL_BUILD_MS:.0f} ms", "error", None))
    # What lean_mtls imports on top of requests, by self time (one -X importtime run each).
    req, lean = _importtime("import requests"), _importtime("import lean_mtls")
    extra = {m: v for m, v in lean.items() if m not in req}
    top = sorted(extra.items(), key=lambda kv: -kv[1][0])[:8]
    section.notes.append(
        f"`-X importtime`: lean_mtls adds {len(extra)} modules to those of requests, "
        f"{sum(v[0] for v in extra.values()) / 1000:.1f} ms self time in total; largest: "
        + ", ".join(f"{m} {v[0] / 1000:.1f}" for m, v in top) + " (ms)."
    )
    report.sections.append(section)
    report.raw["startup"] = {"wall": wall, "cpu": cpu}


# --------------------------------------------------------------------------- machine


def _version(module: str) -> str:
    try:
        mod = __import__(module)
        return str(getattr(mod, "__version__", "?"))
    except Exception:  # noqa: BLE001
        return "not installed"


def machine() -> list[tuple[str, str]]:
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = info.get("model name", platform.processor() or "?")
    extra = [f"{info[k]} {unit}" for k, unit in (("cpu MHz", "MHz"), ("cache size", "cache")) if info.get(k)]
    if extra:
        cpu += f" ({', '.join(extra)})"
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    rev = "?"
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=ROOT).stdout.strip() or "?"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lean_mtls"], capture_output=True, text=True,
                               cwd=ROOT).stdout.strip()
        if dirty:
            rev += " + uncommitted changes in lean_mtls/"
    except OSError:
        pass
    return [
        ("CPU", cpu),
        ("cores", f"{os.cpu_count()} logical, {usable} usable"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("OpenSSL", ssl.OPENSSL_VERSION),
        ("lean_mtls", f"{_version('lean_mtls')} (git {rev})"),
        ("requests", _version("requests")),
        ("urllib3", _version("urllib3")),
        ("httpx", _version("httpx")),
        ("httpcore", _version("httpcore")),
        ("cryptography", _version("cryptography")),
        ("load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("environment removed for the run", ", ".join(SCRUBBED_ENV) or "none"),
        ("bytecode for child interpreters", "temporary PYTHONPYCACHEPREFIX"
         + (" (the environment sets PYTHONDONTWRITEBYTECODE=1; unset for children)" if DONTWRITEBYTECODE_WAS_SET
            else "")),
    ]


# --------------------------------------------------------------------------- output


def _busy_seconds() -> float:
    """CPU seconds all processes on the machine have used since boot (from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU seconds of this process and of every child it has waited for (server, children, imports)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load_at_end(seconds: float, busy0: float, own0: float) -> list[tuple[str, str]]:
    """The machine rows written after a run: load average, and CPU other processes used during its ``seconds``."""
    other = max((_busy_seconds() - busy0) - (_own_seconds() - own0), 0.0)
    return [
        ("load average at end", " ".join(f"{x:.2f}" for x in os.getloadavg())),
        ("CPU used by other processes during the run",
         f"{other:.0f} s = {other / seconds:.2f} cores on average (anything well above 0 makes the numbers noisier)"),
    ]


def render_text(report: Report) -> str:
    out = []
    for s in report.sections:
        out += ["", f"== {s.title}", text_table(s.headers, s.rows)]
        out += [f"  note: {n}" for n in s.notes]
    out += ["", "== Goals (issue 6)",
            text_table(["goal", "target", "measured", "result"],
                       [[g.name, g.target, g.measured, g.mark] for g in report.goals])]
    return "\n".join(out)


def render_markdown(report: Report, mach: list[tuple[str, str]], command: str, cfg_name: str,
                    cfg: dict[str, Any], tls: str, pki: PKI, seconds: float) -> str:
    out = [
        "# lean_mtls benchmark results",
        "",
        f"Produced by `{command}` ({cfg_name} mode, {seconds:.0f} s) on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
        "See `bench/README.md` for what each benchmark measures and how to read the ratios.",
        "",
        "## Machine",
        "",
        md_table(["", ""], [[k, v] for k, v in mach]),
        "",
        f"Server: `bench/server.py` in its own process, threaded, loopback; TLS seen: {tls}; "
        f"{pki.key_type.upper()} keys (trustme), client chain root → intermediate → leaf.",
        "",
        "## Goals",
        "",
        md_table(["goal", "target", "measured", "result"],
                 [[g.name, g.target, g.measured, f"**{g.mark}**"] for g in report.goals]),
    ]
    for s in report.sections:
        out += ["", f"## {s.title}", "", s.what, "", md_table(s.headers, s.rows)]
        if s.notes:
            out += [""] + [f"- {n}" for n in s.notes]
    out += ["", "Configuration: " + ", ".join(f"{k}={v}" for k, v in cfg.items()), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lean_mtls benchmarks (issue 6)")
    parser.add_argument("--quick", action="store_true", help="smoke mode: fewer repeats, < 60 s")
    parser.add_argument("--markdown", metavar="PATH", help="also write the report as markdown")
    parser.add_argument("--json", metavar="PATH", help="also write the raw samples as JSON")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--key-type", choices=["rsa", "ecdsa"], default="rsa",
                        help="key type of every certificate (default rsa, like Lean's portal certificates)")
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    cfg_name = "quick" if args.quick else "full"
    cfg = CONFIGS[cfg_name]
    command = "python bench/run.py" + (" --quick" if args.quick else "") + \
        (f" --markdown {args.markdown}" if args.markdown else "") + \
        (f" --only {args.only}" if args.only != ",".join(SECTIONS) else "") + \
        (f" --key-type {args.key_type}" if args.key_type != "rsa" else "")
    started = time.perf_counter()
    busy0, own0 = _busy_seconds(), _own_seconds()
    mach = machine()
    pki = make_pki(args.key_type)
    report = Report()
    tls = "?"
    try:
        with ServerProcess(pki.server_cert, pki.server_key, pki.client_root, transactions=cfg["pag_n"]) as server:
            log(f"server pid {server.pid} on {server.url} ({cfg_name} mode)")
            names = sorted({*KA_NAMES, *(n for n, _ in COLD_CONFIGS), *THREAD_NAMES})
            runner = Runner(pki, server, names)
            try:
                if "keepalive" in only:
                    bench_keepalive(runner, cfg, report)
                if "cold" in only:
                    bench_cold(runner, cfg, report)
                runner.close_all()
                if "threads" in only:
                    bench_threads(runner, cfg, report)
                if "pagination" in only:
                    bench_pagination(runner, pki, cfg, report)
            finally:
                runner.close_all()
            final = server.stats()
            tls = ", ".join(f"{k} x{v}" for k, v in sorted(final["tls_versions"].items()))
            if final["handshake_failures"] and report.sections:
                report.sections[-1].notes.append(
                    f"server recorded {final['handshake_failures']} failed handshakes during the run")
        if "startup" in only:
            bench_startup(pki, cfg, report)
    finally:
        pki.cleanup()
        shutil.rmtree(PYCACHE, ignore_errors=True)
    seconds = time.perf_counter() - started
    mach.extend(load_at_end(seconds, busy0, own0))
    print("\n".join(f"{k}: {v}" for k, v in mach))
    print(f"TLS: {tls}; keys: {args.key_type}; mode: {cfg_name}; {seconds:.0f} s")
    print(render_text(report))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(render_markdown(report, mach, command, cfg_name, cfg, tls, pki, seconds))
        log(f"wrote {args.markdown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.raw, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
