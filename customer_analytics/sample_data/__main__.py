"""Command line: python -m customer_analytics.sample_data [options]."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from customer_analytics.defs.web.sample_data import CRM_CUSTOMERS_DEFAULT, crm_customers, write_crm
from customer_analytics.lib.subscribers import CONTRACTS_PER_DAILY_LINE, default_contracts
from customer_analytics.sample_data.generator import generate


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m customer_analytics.sample_data",
        description=(
            "Generate sample raw logs in the landing-zone layout: "
            "log_content/YYYYMMDD.json (NDJSON Elasticsearch hits) and "
            "log_search/YYYYMMDD/part-00000.parquet for 2022-06-01..14 and 2022-07-01..14, "
            "and the CRM extract crm/crm_customers.csv (the clickstream itself is served by "
            "python -m customer_analytics.defs.web.sample_events_api). "
            "The same options always produce the same bytes."
        ),
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data/raw"), help="output root (default: data/raw)"
    )
    parser.add_argument("--seed", type=_seed, default=42, help="random seed (default: 42)")
    parser.add_argument(
        "--content-start",
        type=date.fromisoformat,
        default=date(2022, 4, 1),
        help="first content day, YYYY-MM-DD (default: 2022-04-01)",
    )
    parser.add_argument(
        "--content-days", type=_positive, default=30, help="number of content days (default: 30)"
    )
    parser.add_argument(
        "--lines-per-day",
        type=_positive,
        default=5000,
        help="lines per content file (default: 5000; the real export has about 1,600,000)",
    )
    parser.add_argument(
        "--contracts",
        type=_positive,
        default=None,
        help=f"contract population (default: {CONTRACTS_PER_DAILY_LINE} x lines per day, so that "
        "30 days at the real 1.6 M lines a day hold about 1.9 M distinct contracts)",
    )
    parser.add_argument(
        "--search-users",
        type=_positive,
        default=2000,
        help="search user population (default: 2000)",
    )
    parser.add_argument(
        "--searches-per-day",
        type=_positive,
        default=3000,
        help="rows per search file (default: 3000)",
    )
    parser.add_argument(
        "--no-content", dest="content", action="store_false", help="skip log_content"
    )
    parser.add_argument("--no-search", dest="search", action="store_false", help="skip log_search")
    parser.add_argument(
        "--crm-customers",
        type=_positive,
        default=CRM_CUSTOMERS_DEFAULT,
        help=f"customers of the CRM extract (default: {CRM_CUSTOMERS_DEFAULT}; the events "
        "server's --customers must match)",
    )
    parser.add_argument(
        "--crm",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write crm/crm_customers.csv (default: unless --no-content or --no-search "
        "restricts the run to the logs it keeps)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="print only the summary line, not one line a file"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        summary = generate(
            args.out,
            seed=args.seed,
            content_start=args.content_start,
            content_days=args.content_days,
            lines_per_day=args.lines_per_day,
            contracts=args.contracts,
            search_users=args.search_users,
            searches_per_day=args.searches_per_day,
            content=args.content,
            search=args.search,
            verbose=not args.quiet,
        )
        if args.crm if args.crm is not None else args.content and args.search:
            # The contracts of the content days of the same seed and population.
            population = args.contracts or default_contracts(args.lines_per_day)
            # A small sample has fewer contracts than the default CRM has customers.
            customers = min(args.crm_customers, population)
            table = crm_customers(args.seed, customers, contracts=population)
            path = write_crm(args.out, table)
            if not args.quiet:
                print(f"{path.relative_to(args.out)}  {table.num_rows:,} rows", file=sys.stderr)
    except ValueError as error:  # a population too large for the contract numbering
        parser.error(str(error))
    print(
        f"wrote {summary.content_files} content files ({summary.content_lines:,} lines) and "
        f"{summary.search_files} search files ({summary.search_rows:,} rows) under {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
