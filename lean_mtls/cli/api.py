"""``lean-mtls banks`` and ``lean-mtls customers create|get``: thin calls for
scripts, JSON on stdout, built with :meth:`LeanSession.from_env`."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .. import ConfigurationError, ConflictError, LeanSession
from ._output import EXIT_OK, UsageError, dump_json
from ._settings import add_connection_options, read_cli_settings


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    banks = sub.add_parser("banks", parents=[common], help="list Lean's banks (JSON)",
                           description="GET /banks/v1/ with LeanSession.from_env(); JSON on stdout.")
    add_connection_options(banks)
    banks.add_argument("--account-types", choices=["PERSONAL", "BUSINESS"])
    banks.add_argument("--country-codes", metavar="CODES", help="comma-separated ISO alpha-3 codes, e.g. ARE,SAU")
    banks.set_defaults(func=cmd_banks)

    customers = sub.add_parser("customers", help="create or get a customer (JSON)")
    csub = customers.add_subparsers(dest="action", metavar="ACTION")
    csub.required = True
    create = csub.add_parser("create", parents=[common], help="POST /customers/v1/",
                             description="Create a customer; JSON on stdout.")
    create.add_argument("app_user_id", metavar="APP_USER_ID", help="your own id for the user")
    create.add_argument("--existing-ok", action="store_true",
                        help="on CUSTOMER_ALREADY_EXISTS, print the existing customer instead of failing")
    add_connection_options(create)
    create.set_defaults(func=cmd_customers_create)
    get = csub.add_parser("get", parents=[common], help="GET /customers/v1/{id}",
                          description="Get a customer (by Lean's id, or --app-user-id); JSON on stdout.")
    get.add_argument("customer_id", metavar="CUSTOMER_ID")
    get.add_argument("--app-user-id", action="store_true", help="CUSTOMER_ID is your app_user_id, not Lean's id")
    add_connection_options(get)
    get.set_defaults(func=cmd_customers_get)


def _run_api(args: argparse.Namespace, call: Callable[[LeanSession], Any]) -> int:
    settings = read_cli_settings(args)
    with settings.session(timeout=(args.timeout, args.timeout)) as session:
        try:
            result = call(session)
        except ConfigurationError as error:
            raise UsageError(settings.explain(error)) from None
    dump_json(result)
    return EXIT_OK


def cmd_banks(args: argparse.Namespace) -> int:
    return _run_api(args, lambda s: s.banks.list(args.account_types, country_codes=args.country_codes))


def cmd_customers_create(args: argparse.Namespace) -> int:
    def call(session: LeanSession) -> Any:
        try:
            return session.customers.create(args.app_user_id)
        except ConflictError:
            if not args.existing_ok:
                raise
            return session.customers.get_by_app_user_id(args.app_user_id)

    return _run_api(args, call)


def cmd_customers_get(args: argparse.Namespace) -> int:
    if args.app_user_id:
        return _run_api(args, lambda s: s.customers.get_by_app_user_id(args.customer_id))
    return _run_api(args, lambda s: s.customers.get(args.customer_id))
