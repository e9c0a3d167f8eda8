"""keyword_category with the `openai` classifier, against a local server that speaks the
OpenAI protocol to the real client and misbehaves on purpose."""

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg

from customer_analytics.defs.search.assets import (
    keyword_category,
    monthly_top_keyword,
    raw_log_search,
)
from customer_analytics.defs.search.classifiers.resource import KeywordClassifierResource
from customer_analytics.defs.search.rules import CATEGORIES
from customer_analytics.io_managers.warehouse import connect_warehouse
from customer_analytics_tests.fixtures.fake_openai import FakeOpenAI, Reply

ASSETS = [raw_log_search, monthly_top_keyword, keyword_category]
JUNE = "2022-06-01"
LABELS = ("Sports", "Korean Drama", "Thể thao", "sci-fi", "Music")  # three are off the list


def _label(keyword: str) -> str:
    return LABELS[int(keyword.split()[-1]) % len(LABELS)]


def _write_keywords(project, count: int) -> list[str]:
    """One user per keyword, so each keyword is some user's top keyword of June."""
    keywords = [f"phim {number:03d}" for number in range(count)]
    rows = [
        {"eventID": f"e{n}", "user_id": f"{n:07d}", "keyword": keyword}
        for n, keyword in enumerate(keywords)
    ]
    project.write_search_day(date(2022, 6, 1), rows)
    return keywords


def _resources(project, fake: FakeOpenAI, **classifier) -> dict:
    openai = KeywordClassifierResource(
        kind="openai", openai_api_key=fake.api_key, openai_base_url=fake.base_url, **classifier
    )
    return {**project.resources(), "classifier": openai}


def _materialize(resources, instance, selection):
    return dg.materialize(
        ASSETS, selection=selection, resources=resources, instance=instance, partition_key=JUNE
    )


def _prepare_june(resources, instance) -> None:
    assert _materialize(resources, instance, [raw_log_search]).success
    assert _materialize(resources, instance, [monthly_top_keyword]).success


def _cached(project) -> dict[str, str]:
    table = connect_warehouse(project.settings.warehouse_url).read("keyword_category", None)
    return dict(zip(table["keyword"].to_pylist(), table["category"].to_pylist(), strict=True))


def test_faults_still_end_with_valid_categories_and_a_rerun_sends_nothing(project, instance):
    keywords = _write_keywords(project, 120)
    with FakeOpenAI(_label, slow_seconds=3) as fake:
        resources = _resources(project, fake, openai_timeout_seconds=1, openai_batch_size=20)
        _prepare_june(resources, instance)
        fake.script(
            Reply.RATE_LIMITED,
            Reply.SERVER_ERROR,
            Reply.UNAVAILABLE,
            Reply.MALFORMED,
            Reply.SLOW,
            Reply.OMIT,
        )

        result = _materialize(resources, instance, [keyword_category])
        metadata = result.asset_materializations_for_node("keyword_category")[0].metadata
        assert result.success
        cached = _cached(project)
        assert sorted(cached) == keywords
        assert set(cached.values()) <= set(CATEGORIES)
        assert cached["phim 000"] == "Sports"
        assert cached["phim 001"] == "K Drama"  # "Korean Drama" folded
        assert cached["phim 002"] == "Sports"  # "Thể thao" folded
        assert metadata["retries"].value >= 5
        assert metadata["off_list_labels_folded"].value >= 24
        assert metadata["prompt_tokens"].value > 0

        requests_before = len(fake.requests)
        again = _materialize(resources, instance, [keyword_category])
        assert again.success
        assert len(fake.requests) == requests_before
        assert (
            again.asset_materializations_for_node("keyword_category")[0]
            .metadata["newly_classified"]
            .value
            == 0
        )


def test_a_killed_run_resumes_without_sending_an_answered_keyword_again(
    project, instance, dagster_home
):
    keywords = _write_keywords(project, 200)  # four batches of 50
    with FakeOpenAI(_label, slow_seconds=120) as fake:
        resources = _resources(project, fake)
        _prepare_june(resources, instance)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home),
            "KEYWORD_CLASSIFIER": "openai",
            "OPENAI_API_KEY": fake.api_key,
            "OPENAI_BASE_URL": fake.base_url,
        }
        command = [
            str(Path(sys.executable).with_name("dagster")),
            "asset",
            "materialize",
            "-m",
            "customer_analytics.definitions",
            "--select",
            "keyword_category",
            "--partition",
            JUNE,
        ]

        # Two batches are answered, the other two hang until the run is killed.
        fake.script(Reply.OK, Reply.OK, Reply.SLOW, Reply.SLOW)
        run = subprocess.Popen(
            command, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        for line in run.stderr:
            if "Classified and cached 100 of 200" in line:
                break
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        first = fake.requests
        answered = {k for request in first if request.reply is Reply.OK for k in request.keywords}
        assert len(answered) == 100
        assert len(_cached(project)) == 100

        # The restart and the run after it, in process: what they send depends on the cache in
        # the warehouse, not on what runs them, and a process of their own costs seconds each.
        assert _materialize(resources, instance, [keyword_category]).success
        resent = {k for request in fake.requests[len(first) :] for k in request.keywords}
        assert resent == set(keywords) - answered
        assert sorted(_cached(project)) == keywords

        assert _materialize(resources, instance, [keyword_category]).success
        assert len(fake.requests) == len(first) + 2  # the restart's two batches, then nothing
