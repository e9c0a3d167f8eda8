"""run_checks inside a real asset: a failing WARN check only reports, a failing ERROR check
reports every result, then keeps the output out of the lake and stops what depends on it."""

import ast
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from customer_analytics.engines.base import LakeFiles
from customer_analytics.io_managers import ParquetIOManager
from customer_analytics.lib.checks import ERROR, WARN, Check, Outcome, check_specs, run_checks
from customer_analytics.lib.lake import Lake
from customer_analytics.lib.partitions import content_daily, single_run

NUMBERS = pa.table({"n": [1, 2, 3]})


def at_most_two_rows(severity: dg.AssetCheckSeverity, name: str = "at_most_two_rows") -> Check:
    return Check(
        name,
        "No more than two rows.",
        severity,
        lambda numbers: Outcome(numbers.num_rows <= 2, {"rows": numbers.num_rows}),
    )


def _odd(numbers: pa.Table) -> Outcome:
    odd = pc.sum(pc.bit_wise_and(numbers["n"], 1)).as_py()
    return Outcome(odd == 0, {"odd": odd})


ALL_EVEN = Check("all_even", "Every n is even.", ERROR, _odd)
POSITIVE = Check(
    "positive",
    "Every n is > 0.",
    ERROR,
    lambda numbers: Outcome(pc.all(pc.greater(numbers["n"], 0)).as_py(), {}),
)
# An ERROR check that judges this failure only worth a warning (as daily_volume does a low day).
LOW_BUT_NOT_EMPTY = Check(
    "low_but_not_empty",
    "Enough rows; too few only warns.",
    ERROR,
    lambda numbers: Outcome(False, {"rows": numbers.num_rows}, severity=WARN),
)


def lake(tmp_path: Path) -> Lake:
    return Lake(uri=str(tmp_path / "lake"))


def materialize(checks: list[Check], tmp_path: Path, ran: list[str]) -> dg.ExecuteInProcessResult:
    """`numbers` (checked, stored in a Parquet lake) and `doubled`, which reads it."""

    @dg.asset(check_specs=check_specs("numbers", checks), io_manager_key="lake_io_manager")
    def numbers(context: dg.AssetExecutionContext):
        yield from run_checks(context, "numbers", checks, NUMBERS)
        yield dg.Output(NUMBERS)

    @dg.asset(io_manager_key="lake_io_manager")
    def doubled(numbers: LakeFiles) -> pa.Table:
        ran.append("doubled")
        return pa.table({"n": pc.multiply(numbers.dataset().to_table()["n"], 2)})

    return dg.materialize(
        [numbers, doubled],
        resources={"lake_io_manager": ParquetIOManager(lake=lake(tmp_path))},
        raise_on_error=False,
    )


def test_check_specs_block_only_for_error_checks():
    specs = check_specs("numbers", [at_most_two_rows(WARN), ALL_EVEN])
    assert [(s.name, s.asset_key, s.blocking) for s in specs] == [
        ("at_most_two_rows", dg.AssetKey("numbers"), False),
        ("all_even", dg.AssetKey("numbers"), True),
    ]


@pytest.mark.parametrize(
    ("failing", "metadata"),
    [
        pytest.param(at_most_two_rows(WARN), {"rows": 3}, id="warn-check"),
        pytest.param(LOW_BUT_NOT_EMPTY, {"rows": 3}, id="error-check-failing-as-warn"),
    ],
)
def test_failing_warn_check_reports_and_lets_the_output_through(failing, metadata, tmp_path):
    ran = []
    result = materialize([failing, POSITIVE], tmp_path, ran)

    assert result.success
    (warned, passed) = result.get_asset_check_evaluations()
    assert (warned.check_name, warned.passed, warned.severity) == (failing.name, False, WARN)
    assert {key: warned.metadata[key].value for key in metadata} == metadata
    assert (passed.check_name, passed.passed) == ("positive", True)

    assert len(result.asset_materializations_for_node("numbers")) == 1
    assert lake(tmp_path).row_count("numbers", None) == 3
    assert ran == ["doubled"]


def test_failing_error_check_records_every_result_then_blocks(tmp_path):
    ran = []
    checks = [
        at_most_two_rows(WARN),
        ALL_EVEN,
        POSITIVE,
        at_most_two_rows(ERROR, name="three_rows_at_most"),
    ]
    result = materialize(checks, tmp_path, ran)

    assert not result.success
    evaluations = result.get_asset_check_evaluations()
    assert [(e.check_name, e.passed, e.severity) for e in evaluations] == [
        ("at_most_two_rows", False, WARN),
        ("all_even", False, ERROR),  # 1 and 3 are odd
        ("positive", True, ERROR),
        ("three_rows_at_most", False, ERROR),
    ]
    assert evaluations[1].metadata["odd"].value == 2
    failure = result.failure_data_for_node("numbers").user_failure_data
    assert failure.description == (
        "numbers not stored: blocking check(s) failed: all_even, three_rows_at_most"
    )

    assert result.asset_materializations_for_node("numbers") == []
    assert lake(tmp_path).row_count("numbers", None) is None  # no file written
    assert ran == []
    assert result.is_node_untouched("doubled")


@pytest.mark.parametrize(
    ("run", "partitions"),
    [
        pytest.param({"partition_key": "2022-04-02"}, "2022-04-02", id="one-day"),
        pytest.param(
            {
                "tags": {
                    "dagster/asset_partition_range_start": "2022-04-01",
                    "dagster/asset_partition_range_end": "2022-04-03",
                }
            },
            "2022-04-01...2022-04-03",
            id="range-of-days",
        ),
        pytest.param(
            {
                "tags": {
                    "dagster/asset_partition_range_start": "2022-04-02",
                    "dagster/asset_partition_range_end": "2022-04-02",
                }
            },
            "2022-04-02",
            id="range-of-one-day",
        ),
    ],
)
def test_check_results_name_the_partitions_checked(run, partitions):
    # A failed check is found again by the days it was run on.
    @dg.asset(
        partitions_def=content_daily,
        backfill_policy=single_run,
        check_specs=check_specs("days", [at_most_two_rows(WARN)]),
    )
    def days(context: dg.AssetExecutionContext):
        yield from run_checks(context, "days", [at_most_two_rows(WARN)], NUMBERS)
        yield dg.Output(None)

    result = dg.materialize([days], resources={"io_manager": dg.mem_io_manager}, **run)
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.metadata["partitions"].value == partitions


def test_unpartitioned_check_results_name_no_partition(tmp_path):
    result = materialize([at_most_two_rows(WARN)], tmp_path, [])
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.metadata["partitions"].value == ""


PACKAGE = Path(__file__).resolve().parents[2] / "customer_analytics"


def _check_functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.Lambda]:
    """The functions that judge a subject: those returning an Outcome, and whatever is given to
    a Check as its `evaluate`."""
    evaluators: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Check":
            given = node.args[3:] + [k.value for k in node.keywords if k.arg == "evaluate"]
            for evaluate in given:
                if isinstance(evaluate, ast.Lambda):
                    yield evaluate
                elif isinstance(evaluate, ast.Name):
                    evaluators.add(evaluate.id)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (
            node.name in evaluators or getattr(node.returns, "id", None) == "Outcome"
        ):
            yield node


def test_no_check_takes_a_bag_of_keywords():
    # A check takes its one typed subject, so its signature tells what it may use.
    bags = {
        f"{path.relative_to(PACKAGE)}:{function.lineno} **{function.args.kwarg.arg}"
        for path in PACKAGE.rglob("*.py")
        for function in _check_functions(ast.parse(path.read_text()))
        if function.args.kwarg
    }
    assert not bags
