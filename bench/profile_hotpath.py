"""cProfile over kept-alive LeanSession requests: where does the per-request time go?

    python bench/profile_hotpath.py                 # 2000 GET /banks/v1/, top 25 by cumulative time
    python bench/profile_hotpath.py --post -n 5000  # POST /customers/v1/ instead
    python bench/profile_hotpath.py --sort tottime  # by own time
    python bench/profile_hotpath.py --build         # profile LeanSession(...) construction instead

The server (bench/server.py) runs in its own process, so only client work
shows up.  cProfile slows Python code down roughly 2x, so read the *shares*,
not the absolute times; bench/run.py gives the real numbers.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _env import scrub

scrub()

from clients import APP_TOKEN, CUSTOMER, Lean  # noqa: E402
from pki import make_pki  # noqa: E402
from server import ServerProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests to profile (default 2000)")
    parser.add_argument("--post", action="store_true", help="POST /customers/v1/ instead of GET /banks/v1/")
    parser.add_argument("--build", action="store_true", help="profile LeanSession(...) construction (n/20 times)")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key (default cumulative)")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--key-type", choices=["rsa", "ecdsa"], default="rsa")
    args = parser.parse_args()
    pki = make_pki(args.key_type)
    try:
        with ServerProcess(pki.server_cert, pki.server_key, pki.client_root, transactions=1000) as server:
            call: Callable[[], None]
            if args.build:
                from lean_mtls import LeanSession

                def call() -> None:
                    LeanSession(APP_TOKEN, cert=pki.client_leaf, key=pki.client_key, ca=pki.ca_bundle,
                                base_url=server.url).close()

                call()  # lazy imports out of the way
                count = max(1, args.n // 20)
                what = f"{count} LeanSession(...) builds"
            else:
                client = Lean(pki, server.url)
                if args.post:
                    def call() -> None:
                        client.post("/customers/v1/", CUSTOMER)
                else:
                    def call() -> None:
                        client.get("/banks/v1/")
                for _ in range(200):
                    call()
                count = args.n
                what = f"{count} kept-alive {'POST /customers/v1/' if args.post else 'GET /banks/v1/'}"

            def work() -> None:
                for _ in range(count):
                    call()

            t0 = time.perf_counter()
            work()
            plain = (time.perf_counter() - t0) / count
            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.runcall(work)
            profiled = (time.perf_counter() - t0) / count
    finally:
        pki.cleanup()
    print(f"{what}: {plain * 1000:.3f} ms each without the profiler, {profiled * 1000:.3f} ms with it")
    stats = pstats.Stats(profiler)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
