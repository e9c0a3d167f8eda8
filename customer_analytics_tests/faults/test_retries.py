"""Steps are retried only for errors a retry can fix: a corrupt file, a refused API key or bad
rows fail at once, with the real error, instead of after ~150 s of retries."""

import errno
import os
import socket
from datetime import date

import dagster as dg
import httpx
import openai
import pyarrow as pa
import pymysql
import pytest
import sqlalchemy as sa

from customer_analytics.definitions import build_resources
from customer_analytics.defs.search.assets import (
    keyword_category,
    monthly_top_keyword,
    raw_log_search,
)
from customer_analytics.defs.search.classifiers.resource import KeywordClassifierResource
from customer_analytics.defs.search.landing import SearchExport
from customer_analytics.lib.retries import is_transient, network_retry, transient_retries_only
from customer_analytics.settings import Settings
from customer_analytics_tests.fixtures.fake_openai import FakeOpenAI

DAY = date(2022, 6, 1)
REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


def _status(cls: type[openai.APIStatusError], status: int, **body) -> openai.APIStatusError:
    return cls("refused", response=httpx.Response(status, request=REQUEST), body=body or None)


def _wrapped(error: BaseException) -> BaseException:
    """`error` as the cause of a later, unrelated-looking one (as PyMySQL does)."""
    try:
        try:
            raise error
        except BaseException as cause:
            raise AttributeError("'NoneType' object has no attribute 'settimeout'") from cause
    except AttributeError as later:
        return later


TRANSIENT = {
    "connection refused": ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
    "reset": ConnectionResetError(errno.ECONNRESET, "reset by peer"),
    "timeout": TimeoutError("timed out"),
    "network unreachable": OSError(errno.ENETUNREACH, "Network is unreachable"),
    "dns": socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
    "arrow s3 network": OSError(
        "When reading information for key 'k' in bucket 'b': AWS Error NETWORK_CONNECTION "
        "during HeadObject operation: curlCode: 7, Could not connect to server"
    ),
    "arrow s3 throttled": OSError("AWS Error SLOW_DOWN during PutObject operation: slow down"),
    "arrow s3 5xx": OSError("AWS Error UNKNOWN (HTTP status 503) during GetObject operation"),
    "mysql cannot connect": pymysql.err.OperationalError(2003, "Can't connect"),
    "mysql gone away": pymysql.err.OperationalError(2006, "MySQL server has gone away"),
    "mysql lost": pymysql.err.OperationalError(2013, "Lost connection during query"),
    "mysql deadlock": pymysql.err.OperationalError(1213, "Deadlock found"),
    "sqlalchemy lost": sa.exc.OperationalError(
        "SELECT 1", {}, pymysql.err.OperationalError(2013, "Lost connection")
    ),
    "lost behind another error": _wrapped(pymysql.err.OperationalError(2013, "Lost")),
    "openai connection": openai.APIConnectionError(request=REQUEST),
    "openai timeout": openai.APITimeoutError(request=REQUEST),
    "openai 429": _status(openai.RateLimitError, 429),
    "openai 500": _status(openai.InternalServerError, 500),
}
PERMANENT = {
    "corrupt parquet": pa.ArrowInvalid("Parquet magic bytes not found in footer"),
    "no such file": FileNotFoundError(errno.ENOENT, "No such file or directory"),
    "permission": PermissionError(errno.EACCES, "Permission denied"),
    "disk full": OSError(errno.ENOSPC, "No space left on device"),
    "arrow s3 access denied": OSError("AWS Error ACCESS_DENIED during HeadObject operation"),
    "mysql data too long": pymysql.err.DataError(1406, "Data too long for column 'Contract'"),
    "mysql duplicate": pymysql.err.IntegrityError(1062, "Duplicate entry 'a' for key 'PRIMARY'"),
    "mysql syntax": pymysql.err.ProgrammingError(1064, "You have an error in your SQL syntax"),
    "openai 401": _status(openai.AuthenticationError, 401),
    "openai quota": _status(openai.RateLimitError, 429, code="insufficient_quota"),
    "bug": KeyError("month"),
}


@pytest.mark.parametrize("name", TRANSIENT)
def test_errors_a_retry_can_fix_are_transient(name):
    assert is_transient(TRANSIENT[name])


@pytest.mark.parametrize("name", PERMANENT)
def test_other_errors_are_not(name):
    assert not is_transient(PERMANENT[name])


# An export window of day 1, the fixtures' only day.
WINDOW_OF_DAY_ONE = SearchExport(days=[1])


def _retries(result) -> int:
    return sum(event.is_step_up_for_retry for event in result.all_events)


def _step_failure(result) -> str:
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    return str(failure.step_failure_data.error)


def test_only_transient_errors_of_a_decorated_step_are_retried(instance):
    raised = [ConnectionResetError(errno.ECONNRESET, "reset"), KeyError("month")]

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=3))  # no delay: the test stays fast
    @transient_retries_only
    def flaky():
        raise raised.pop(0)

    result = dg.materialize([flaky], instance=instance, raise_on_error=False)

    assert not result.success
    assert _retries(result) == 1  # the reset, not the KeyError
    assert "flaky failed: KeyError: 'month' (not retried" in _step_failure(result)


def test_a_corrupt_search_part_file_fails_once_naming_the_file(project, instance):
    relative = f"log_search/{DAY:%Y%m%d}/part-00000.parquet"
    garbage = os.urandom(4096)
    project.raw.write(relative, lambda sink: sink.write(garbage))
    assert raw_log_search.op.retry_policy == network_retry

    result = dg.materialize(
        [raw_log_search],
        resources=project.resources(),
        instance=instance,
        partition_key=str(DAY),
        raise_on_error=False,
    )

    assert not result.success
    assert _retries(result) == 0
    starts = [event for event in result.all_events if event.event_type_value == "STEP_START"]
    assert len(starts) == 1
    assert f"{project.raw.describe(relative)} is not a readable Parquet file" in _step_failure(
        result
    )


def test_a_corrupt_lake_file_fails_its_reader_once_naming_the_file(project, instance):
    project.write_search_day(DAY, [{"eventID": "e1", "user_id": "0014111", "keyword": "vtv3"}])
    resources = project.resources()
    assert dg.materialize(
        [raw_log_search], resources=resources, instance=instance, partition_key=str(DAY)
    ).success
    stored = "raw_log_search/2022-06-01.parquet"
    project.lake.write(stored, lambda sink: sink.write(b"PAR1 not really"))

    result = dg.materialize(
        [raw_log_search, monthly_top_keyword],
        selection=[monthly_top_keyword],
        resources={
            **resources,
            "search_export": WINDOW_OF_DAY_ONE,
        },
        instance=instance,
        partition_key="2022-06-01",
        raise_on_error=False,
    )

    assert not result.success
    assert _retries(result) == 0
    assert f"{project.lake.describe(stored)} is not a readable Parquet file" in _step_failure(
        result
    )


def test_a_refused_api_key_fails_keyword_category_once(project, instance):
    project.write_search_day(DAY, [{"eventID": "e1", "user_id": "0014111", "keyword": "vtv3"}])
    with FakeOpenAI(api_key="sk-right-key") as fake:
        resources = project.resources()
        resources |= {
            "search_export": WINDOW_OF_DAY_ONE,
            "classifier": KeywordClassifierResource(
                kind="openai", openai_api_key="sk-wrong-key", openai_base_url=fake.base_url
            ),
        }
        assets = [raw_log_search, monthly_top_keyword, keyword_category]
        for selection in ([raw_log_search], [monthly_top_keyword]):
            assert dg.materialize(
                assets,
                selection=selection,
                resources=resources,
                instance=instance,
                partition_key=str(DAY),
            ).success
        assert keyword_category.op.retry_policy == network_retry

        result = dg.materialize(
            assets,
            selection=[keyword_category],
            resources=resources,
            instance=instance,
            partition_key=str(DAY),
            raise_on_error=False,
        )

    assert not result.success
    assert _retries(result) == 0
    assert len(fake.requests) == 1
    assert "HTTP 401" in _step_failure(result)


SCHEMA = pa.schema(
    [pa.field("month", pa.date32(), nullable=False), pa.field("Contract", pa.string(), False)],
    metadata={"primary_key": "month,Contract"},
)


@dg.asset(
    partitions_def=dg.MonthlyPartitionsDefinition(start_date="2022-04-01"),
    io_manager_key="warehouse_io_manager",
    metadata={"partition_expr": "month"},
    retry_policy=network_retry,
)
def doubled_profiles() -> pa.Table:
    april = date(2022, 4, 1)
    return pa.Table.from_pylist(
        [{"month": april, "Contract": "HNH1"}, {"month": april, "Contract": "HNH1"}], schema=SCHEMA
    )


def test_rows_mysql_refuses_fail_the_step_once(mysql_url, tmp_path, monkeypatch, instance):
    for name, value in {
        "RAW_DATA_URI": str(tmp_path / "raw"),
        "LAKE_URI": str(tmp_path / "lake"),
        "EXPORT_DIR": str(tmp_path / "exports"),
        "WAREHOUSE_URL": mysql_url,
    }.items():
        monkeypatch.setenv(name, value)

    result = dg.materialize(
        [doubled_profiles],
        resources=build_resources(Settings.from_env()),
        instance=instance,
        partition_key="2022-04-01",
        raise_on_error=False,
    )

    assert not result.success
    assert _retries(result) == 0
    message = _step_failure(result)
    assert "Duplicate entry" in message and "not retried" in message
