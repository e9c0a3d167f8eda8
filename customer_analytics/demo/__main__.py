"""python -m customer_analytics.demo launch --assets A,B [--partition K | --partition-range S...E]
python -m customer_analytics.demo web
python -m customer_analytics.demo summary"""

import argparse
import sys

from customer_analytics.demo.launch import launch
from customer_analytics.demo.summary import summary
from customer_analytics.demo.web import web_demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer_analytics.demo")
    commands = parser.add_subparsers(dest="command", required=True)
    step = commands.add_parser("launch", help="materialize assets with dg launch, quietly")
    step.add_argument("--assets", required=True, help="comma-separated asset names")
    span = step.add_mutually_exclusive_group()
    span.add_argument("--partition")
    span.add_argument("--partition-range", help="START...END")
    commands.add_parser("web", help="serve the sample events and materialize the web group")
    commands.add_parser("summary", help="print the profiles the demo produced")
    args = parser.parse_args(argv)
    if args.command == "launch":
        return launch(args.assets, args.partition, args.partition_range)
    if args.command == "web":
        return web_demo()
    summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
