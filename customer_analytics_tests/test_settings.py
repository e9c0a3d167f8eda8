"""Configuration is parsed once: a misspelled or unparsable variable stops the code location
from loading, with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from customer_analytics.settings import ConfigurationError, Settings

DG = str(Path(sys.executable).with_name("dg"))


def test_check_limits_come_from_their_variables():
    settings = Settings.from_env({"CHECK_MAX_OTHER_SHARE": "0.25", "CHECK_TRAILING_DAYS": "14"})
    assert settings.check_thresholds.max_other_share == 0.25
    assert settings.check_thresholds.trailing_days == 14
    assert settings.check_thresholds.max_quarantine_share == 0.02  # the default


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"CHECK_MAX_OTHR_SHARE": "0.2"}, "CHECK_MAX_OTHR_SHARE is not a check limit"),
        ({"CHECK_MAX_OTHER_SHARE": "a lot"}, "CHECK_MAX_OTHER_SHARE='a lot'"),
        ({"CHECK_MAX_OTHER_SHARE": "1.5"}, "CHECK_MAX_OTHER_SHARE='1.5'"),
        ({"CHECK_TRAILING_DAYS": "0"}, "CHECK_TRAILING_DAYS='0'"),
        # Beyond a year, each checked day would look up dates before the year 1.
        (
            {"CHECK_TRAILING_DAYS": "99999999999999999999999"},
            "CHECK_TRAILING_DAYS='99999999999999999999999': Input should be less than or equal to 366",
        ),
        ({"OPENAI_MAX_REQUESTS": "many"}, "OPENAI_MAX_REQUESTS='many'"),
        ({"COMPUTE_ENGINE": "pandas"}, "COMPUTE_ENGINE='pandas'"),
        ({"KEYWORD_CLASSIFIER": "openai"}, "KEYWORD_CLASSIFIER=openai needs OPENAI_API_KEY"),
        ({"DAGSTER_UI_URL": "localhost:3000"}, "DAGSTER_UI_URL='localhost:3000'"),
    ],
)
def test_a_variable_that_cannot_be_used_is_named(environ, message):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(environ)
    assert message in str(raised.value)


def test_a_mistyped_check_variable_stops_the_code_location_from_loading(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "CHECK_MAX_UNKOWN_APP_SHARE": "0.05"}
    env["VIRTUAL_ENV"] = sys.prefix
    finished = subprocess.run(
        [DG, "check", "defs"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[1],
    )
    assert finished.returncode != 0
    assert "CHECK_MAX_UNKOWN_APP_SHARE is not a check limit" in finished.stdout + finished.stderr


@pytest.mark.parametrize(
    "environ, message",
    [
        # "²".isdigit() is True, but int("²") fails: the message named nothing.
        pytest.param(
            {"OPENAI_MAX_REQUESTS": "²"},
            "OPENAI_MAX_REQUESTS='²': expected a whole number above 0, at most 18 digits 0-9",
            id="superscript-digit",
        ),
        # int("٣") is 3: digits of other scripts are not read as numbers either.
        pytest.param(
            {"OPENAI_MAX_REQUESTS": "٣"},
            "OPENAI_MAX_REQUESTS='٣': expected a whole number above 0, at most 18 digits 0-9",
            id="arabic-indic-digit",
        ),
        pytest.param(
            {"OPENAI_MAX_REQUESTS": "1" * 19},
            f"OPENAI_MAX_REQUESTS='{'1' * 19}': expected a whole number above 0, at most 18",
            id="19-digits",
        ),
        # Beyond 4300 digits, int() raises its own ValueError, naming nothing.
        pytest.param(
            {"OPENAI_MAX_REQUESTS": "1" * 5000},
            "OPENAI_MAX_REQUESTS='111",
            id="5000-digits",
        ),
        pytest.param(
            {"CHECK_TRAILING_DAYS": "²"},
            "CHECK_TRAILING_DAYS='²': Input should be a valid integer",
            id="check-limit-superscript-digit",
        ),
        pytest.param(
            {"SPARK_DRIVER_MEMORY": "²g"},
            "SPARK_DRIVER_MEMORY='²g': expected a size above 0 in digits 0-9 and a unit k, m, g "
            "or t, e.g. 512m or 4g",
            id="memory-superscript-digit",
        ),
        pytest.param(
            {"SPARK_DRIVER_MEMORY": "0g"},
            "SPARK_DRIVER_MEMORY='0g': expected a size above 0",
            id="memory-zero",
        ),
        pytest.param(
            {"SPARK_DRIVER_MEMORY": "4 gigabytes"},
            "SPARK_DRIVER_MEMORY='4 gigabytes': expected a size above 0",
            id="memory-in-words",
        ),
    ],
)
def test_a_number_in_digits_other_than_0_to_9_is_refused_by_name(environ, message):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env(environ)
    assert str(raised.value).startswith(message)


def test_numbers_in_digits_0_to_9_are_read():
    settings = Settings.from_env(
        {"OPENAI_MAX_REQUESTS": " 999999999999999999 ", "SPARK_DRIVER_MEMORY": " 512m "}
    )
    assert settings.openai_max_requests == 999_999_999_999_999_999
    assert settings.spark_driver_memory == "512m"


@pytest.mark.parametrize(
    "name, url, message",
    [
        # Stored as "http:" before: every request then went to a URL without a host.
        ("EVENTS_API_URL", "http://", "the URL names no host, e.g. http://127.0.0.1:8765"),
        ("DAGSTER_UI_URL", "http://", "the URL names no host, e.g. http://127.0.0.1:3000"),
        ("EVENTS_API_URL", "https://:8765", "the URL names no host"),
        ("EVENTS_API_URL", "http:///events", "the URL names no host"),
        ("EVENTS_API_URL", "http:127.0.0.1", "expected an http:// or https:// URL"),
        ("EVENTS_API_URL", "http://events api:8765", "a URL holds no spaces or control"),
        ("EVENTS_API_URL", "http://127.0.0.1:8765\n", "a URL holds no spaces or control"),
        ("EVENTS_API_URL", "http://127.0.0.1:87a5", "the port must be a number from 1 to 65535"),
        ("EVENTS_API_URL", "http://127.0.0.1:70000", "the port must be a number from 1 to 65535"),
        ("EVENTS_API_URL", "http://127.0.0.1:0", "the port must be a number from 1 to 65535"),
        ("EVENTS_API_URL", "http://127.0.0.1:-1", "the port must be a number from 1 to 65535"),
        ("EVENTS_API_URL", "http://[::1", "not a URL (Invalid IPv6 URL)"),
        ("EVENTS_API_URL", "http://ev%41nts:8765", "'ev%41nts' is not a host name or IP address"),
        ("EVENTS_API_URL", "http://127.0.0.1:8765/?page=2", "expected a base URL, without ?query"),
        ("DAGSTER_UI_URL", "http://127.0.0.1:3000/#runs", "expected a base URL, without ?query"),
    ],
)
def test_an_http_url_needs_a_host_and_a_port_in_range(name, url, message):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({name: url})
    assert str(raised.value).startswith(f"{name}={url!r}: {message}")


def test_a_password_in_an_http_url_is_refused_without_repeating_it():
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"EVENTS_API_URL": "http://poller:s3cr3t@127.0.0.1:8765"})
    assert str(raised.value) == (
        "EVENTS_API_URL: a user name or password in the URL is not supported "
        "(the value is not shown)"
    )


def test_http_urls_with_a_host_are_taken_without_their_trailing_slash():
    settings = Settings.from_env(
        {"EVENTS_API_URL": "http://events.internal:8765/api/", "DAGSTER_UI_URL": "https://[::1]/"}
    )
    assert settings.events_api_url == "http://events.internal:8765/api"
    assert settings.dagster_ui_url == "https://[::1]"


@pytest.mark.parametrize("name", ["SPARK_DRIVER_HOST", "SPARK_DRIVER_BIND_ADDRESS"])
@pytest.mark.parametrize(
    "raw", ["spark://10.0.0.5", "10.0.0.5:7077", "[::1]", "dagster daemon", "-daemon", "dæmon"]
)
def test_a_driver_address_is_a_host_alone(name, raw):
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({name: raw})
    assert str(raised.value) == (
        f"{name}={raw!r}: expected a host name or IP address, without a port, brackets or "
        "scheme (e.g. 10.0.0.5 or dagster-daemon)"
    )


def test_driver_addresses_are_read_when_set():
    assert Settings.from_env({}).spark_driver_host is None
    assert Settings.from_env({}).spark_driver_bind_address is None
    settings = Settings.from_env(
        {"SPARK_DRIVER_HOST": " dagster_daemon ", "SPARK_DRIVER_BIND_ADDRESS": "::1"}
    )
    assert settings.spark_driver_host == "dagster_daemon"
    assert settings.spark_driver_bind_address == "::1"
