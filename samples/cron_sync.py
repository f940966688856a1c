"""Nightly sync: write one day's transactions to a JSON-lines file, idempotently.

Run it against the local Lean emulator (no Lean account, no network):

    python -m pip install '.[testing]'
    python samples/cron_sync.py --fake --output ./lean-sync

Against Lean (crontab: ``15 2 * * * /path/to/venv/bin/python /path/to/cron_sync.py --output /var/lib/lean``):

    LEAN_APP_TOKEN=... LEAN_CERT=app.crt LEAN_KEY=app.key LEAN_CA=lean_chain.pem \\
    LEAN_ENTITY_ID=<entity id> python samples/cron_sync.py --output /var/lib/lean [--date 2024-05-01]

What it does: for every account of the entity, fetch the transactions booked on
``--date`` (default: yesterday, UTC), merge them with what an earlier run of the
same day wrote (keyed by ``transaction_id``: a re-run replaces rows, never
duplicates them), and write ``<output>/transactions-<date>.jsonl`` through a
temporary file and an atomic rename, so a crash never leaves half a file.

Logging goes to stderr.  Exit codes: 0 synced, 1 Lean or the network failed
(retry later), 2 configuration error (flags, variables, certificate files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from lean_mtls import ConfigurationError, LeanError, LeanSession

logger = logging.getLogger("cron_sync")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
#: Pages in flight for the export (at most the session's pool_size, 16 by default).
EXPORT_CONCURRENCY = 8


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="exit codes: 0 synced, 1 Lean/network failure, 2 configuration error")
    parser.add_argument("--date", type=dt.date.fromisoformat, help="day to sync, YYYY-MM-DD (default: yesterday UTC)")
    parser.add_argument("--output", type=Path, default=Path("lean-sync"), help="directory of the .jsonl files")
    parser.add_argument("--entity-id", default=os.environ.get("LEAN_ENTITY_ID"),
                        help="the entity (bank connection) to sync (default: $LEAN_ENTITY_ID)")
    parser.add_argument("--fake", action="store_true", help="sync from a local FakeLean instead of Lean")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def read_existing(path: Path) -> dict[str, dict[str, Any]]:
    """Rows an earlier run wrote, by transaction_id."""
    rows: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return rows
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rows[str(row["transaction_id"])] = row
            except (ValueError, KeyError, TypeError):
                logger.warning("%s line %d is not a transaction row; dropping it", path, number)
    return rows


def fetch_day(lean: LeanSession, entity_id: str, day: dt.date) -> Iterator[dict[str, Any]]:
    """Every account's transactions of ``day``: one export, 8 pages in flight, Lean's order."""
    counts: Counter[str] = Counter()
    for record in lean.data.export(entity_id, kinds=("transactions",), start_date=day, end_date=day,
                                   concurrency=EXPORT_CONCURRENCY):
        counts[record.account_id] += 1
        yield dict(record.item)
    for account_id, count in counts.items():
        logger.info("account %s: %d transactions on %s", account_id, count, day)


def _sort_key(row: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(row.get("booking_date_time", "")), str(row.get("account_id", "")), str(row["transaction_id"]))


def write_atomically(path: Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sync(lean: LeanSession, entity_id: str, day: dt.date, output: Path) -> tuple[Path, int, int]:
    """Merge the day's transactions into its file; returns (path, rows, new rows)."""
    path = output / f"transactions-{day.isoformat()}.jsonl"
    rows = read_existing(path)
    before = set(rows)
    for tx in fetch_day(lean, entity_id, day):
        if tx.get("transaction_id") is None:
            logger.warning("skipping a transaction without transaction_id")
            continue
        rows[str(tx["transaction_id"])] = tx  # a re-run replaces, never duplicates
    write_atomically(path, sorted(rows.values(), key=_sort_key))
    return path, len(rows), len(set(rows) - before)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("lean_mtls").setLevel(logging.INFO if args.verbose else logging.WARNING)
    day = args.date or (dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1))
    try:
        with ExitStack() as stack:
            if args.fake:
                from lean_mtls.testing import FakeLean

                fake = stack.enter_context(FakeLean())
                lean = stack.enter_context(fake.session())
                entity_id = args.entity_id or fake.entity_id
            else:
                lean = stack.enter_context(LeanSession.from_env())
                entity_id = args.entity_id
            if not entity_id:
                raise ConfigurationError("No entity to sync: pass --entity-id or set LEAN_ENTITY_ID.")
            path, total, new = sync(lean, entity_id, day, args.output)
    except ConfigurationError as error:  # includes CertificateError
        logger.error("configuration: %s", error)
        return EXIT_CONFIG
    except LeanError as error:
        logger.error("sync of %s failed (%s): %s", day, error.code, error)
        return EXIT_FAILED
    except OSError as error:
        logger.error("could not write the output: %s", error)
        return EXIT_FAILED
    except ImportError as error:
        logger.error("%s (--fake needs: python -m pip install 'lean-mtls[testing]')", error)
        return EXIT_CONFIG
    logger.info("%s: %d transactions (%d new) in %s", day, total, new, path)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
