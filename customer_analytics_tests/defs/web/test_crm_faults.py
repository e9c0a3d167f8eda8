"""A hostile CRM extract through `crm_customers`, on local files + DuckDB and on S3 + MariaDB:
a value longer than its warehouse column is refused by the blocking check before anything is
stored, naming the file, the line and the rule, on both warehouses alike; values of exactly
the columns' widths load on both."""

import dagster as dg
import pytest

from customer_analytics.defs.web.assets import crm_customers
from customer_analytics.defs.web.landing import CRM_FILE
from customer_analytics.io_managers.warehouse import connect_warehouse

HEADER = "customer_id,contract,loyalty_tier,rating\n"
# 255 characters of two bytes each (510 bytes): the columns count characters.
WIDEST_ID, WIDEST_CONTRACT = "Đ" * 255, "C" * 255


def _land_crm(project, text: str) -> str:
    project.raw.write(CRM_FILE, lambda sink: sink.write(text.encode()))
    return project.raw.describe(CRM_FILE)


def _materialize(project, instance) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [crm_customers], resources=project.resources(), instance=instance, raise_on_error=False
    )


def _stored(project) -> list[tuple]:
    rows = connect_warehouse(project.settings.warehouse_url).read("crm_customers", None)
    return sorted(tuple(row.values()) for row in rows.to_pylist())


def test_values_longer_than_their_columns_are_refused_before_the_warehouse(project, instance):
    _land_crm(project, f"{HEADER}{WIDEST_ID},{WIDEST_CONTRACT},Gold,5\nu2,C2,Silver,3\n")
    assert _materialize(project, instance).success
    stored = [("u2", "C2", "Silver", 3), (WIDEST_ID, WIDEST_CONTRACT, "Gold", 5)]
    assert _stored(project) == stored

    # Line 3's id has 300 characters, line 4's contract 256 (after trimming its padding).
    where = _land_crm(
        project,
        f"{HEADER}u1,C1,Gold,5\n{'u' * 300},C3,Gold,4\nu4, {'c' * 256} ,Bronze,1\n",
    )
    result = _materialize(project, instance)

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["crm_rows_valid"].passed
    metadata = evaluations["crm_rows_valid"].metadata
    assert metadata["first_failure"].value == (
        f"{where} line 3: customer_id_too_long (a customer_id of more than 255 characters)"
    )
    assert metadata["first_failing_lines"].value == {
        "customer_id_too_long": [3],
        "contract_too_long": [4],
    }
    assert metadata["failing_rows"].value == {
        "missing_customer_id": 0,
        "customer_id_too_long": 1,
        "duplicate_customer_id": 0,
        "missing_contract": 0,
        "contract_too_long": 1,
        "invalid_loyalty_tier": 0,
        "invalid_rating": 0,
    }
    failure = result.failure_data_for_node("crm_customers").user_failure_data
    assert (
        failure.description == "crm_customers not stored: blocking check(s) failed: crm_rows_valid"
    )
    assert failure.metadata["crm_rows_valid"].value["first_failure"] == (
        f"{where} line 3: customer_id_too_long (a customer_id of more than 255 characters)"
    )
    # The warehouse keeps the extract it had: nothing of the refused one reached it.
    assert _stored(project) == stored


@pytest.mark.parametrize("project", ["embedded"], indirect=True)
def test_the_first_failure_is_the_earliest_line_and_on_it_the_first_rule(project, instance):
    # Line 2 fails invalid_rating, line 3 missing_contract and invalid_loyalty_tier, line 4
    # duplicate_customer_id: the earliest line wins, then the rules' order.
    where = _land_crm(project, f"{HEADER}u1,C1,Gold,7\nu2,,Iron,1\nu1,C3,Gold,2\n")
    result = _materialize(project, instance)

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    metadata = evaluations["crm_rows_valid"].metadata
    assert metadata["first_failure"].value == (
        f"{where} line 2: invalid_rating (a rating other than a whole number from 1 to 5)"
    )
    assert metadata["first_failing_lines"].value == {
        "duplicate_customer_id": [4],
        "missing_contract": [3],
        "invalid_loyalty_tier": [3],
        "invalid_rating": [2],
    }


@pytest.mark.parametrize("project", ["embedded"], indirect=True)
def test_a_header_without_rows_fails_the_run_naming_the_file(project, instance):
    where = _land_crm(project, HEADER)
    result = _materialize(project, instance)

    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert f"{where} has a header and no rows" in str(failure.step_failure_data.error)
    # A file is not retried: it stays as it is until someone replaces it.
    assert not [event for event in result.all_events if event.is_step_up_for_retry]
