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
