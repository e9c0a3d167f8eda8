"""Accuracy of a keyword classifier on the hand-labelled set `data/keyword_eval.csv`.

python -m customer_analytics.defs.search.classifiers.evaluate           # KEYWORD_CLASSIFIER's
python -m customer_analytics.defs.search.classifiers.evaluate --errors  # and every miss
"""

import argparse
import asyncio
import csv
from collections import Counter
from pathlib import Path

import dagster as dg

from customer_analytics.defs.search.classifiers.classifier import KeywordClassifier
from customer_analytics.defs.search.classifiers.resource import KeywordClassifierResource
from customer_analytics.settings import REPO_ROOT, Settings

EVALUATION_SET = REPO_ROOT / "data" / "keyword_eval.csv"


def load_labels(path: Path = EVALUATION_SET) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["keyword"]: row["category"] for row in csv.DictReader(handle)}


async def predict(classifier: KeywordClassifier, keywords: list[str]) -> dict[str, str]:
    return {c.keyword: c.category async for batch in classifier.classify(keywords) for c in batch}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=EVALUATION_SET)
    parser.add_argument("--errors", action="store_true", help="list every misclassified keyword")
    args = parser.parse_args(argv)

    labels = load_labels(args.file)
    # build_resources resolves the EnvVar-held API key as a Dagster run would.
    with dg.build_resources(
        {"classifier": KeywordClassifierResource.from_settings(Settings.from_env())}
    ) as r:
        classifier = r.classifier.build(log=print)
        predicted = asyncio.run(predict(classifier, sorted(labels)))

    right = Counter(label for keyword, label in labels.items() if predicted.get(keyword) == label)
    total = Counter(labels.values())
    print(
        f"{classifier.source} ({classifier.model}) on {args.file.name}: "
        f"{sum(right.values())}/{len(labels)} = {sum(right.values()) / len(labels):.1%}"
    )
    for category in sorted(total, key=lambda c: -total[c]):
        print(
            f"  {category:<13} {right[category]:>4}/{total[category]:<4} "
            f"{right[category] / total[category]:.0%}"
        )
    if args.errors:
        for keyword, label in sorted(labels.items()):
            if predicted.get(keyword) != label:
                print(f"  {keyword!r}: expected {label}, got {predicted.get(keyword)}")


if __name__ == "__main__":
    main()
