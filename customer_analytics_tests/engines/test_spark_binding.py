"""Where the Spark driver listens: on loopback when its master is on this machine's loopback
(local mode, or a standalone master on 127.0.0.0/8, localhost or ::1), where the cluster can
reach it otherwise, and where SPARK_DRIVER_HOST and SPARK_DRIVER_BIND_ADDRESS say when set. On a
real cluster, where the driver and a Connect client listen is `test_parity.py`'s to check: its
runs on the loopback cluster report it."""

import pytest

from customer_analytics.definitions import compute_engine
from customer_analytics.engines.spark import spark_config
from customer_analytics.settings import Settings

DRIVER_KEYS = ("spark.driver.host", "spark.driver.bindAddress")
LOOPBACK = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}


def addresses_of_the_driver(config: dict[str, str]) -> dict[str, str]:
    return {key: config[key] for key in DRIVER_KEYS if key in config}


@pytest.mark.parametrize(
    "master, expected",
    [
        pytest.param("local[*]", LOOPBACK, id="local-all-cores"),
        pytest.param("local", LOOPBACK, id="local"),
        pytest.param("local-cluster[2,1,1024]", LOOPBACK, id="local-cluster"),
        pytest.param("spark://127.0.0.1:7077", LOOPBACK, id="127.0.0.1"),
        pytest.param("spark://127.8.9.10:7077", LOOPBACK, id="127.0.0.0/8"),
        pytest.param("spark://localhost:7077", LOOPBACK, id="localhost"),
        pytest.param("spark://LocalHost:7077", LOOPBACK, id="localhost-any-case"),
        pytest.param("spark://[::1]:7077", LOOPBACK, id="ipv6-loopback"),
        pytest.param("spark://[::ffff:127.0.0.1]:7077", LOOPBACK, id="ipv4-mapped-loopback"),
        pytest.param("spark://127.0.0.1:7077,localhost:7078", LOOPBACK, id="standby-on-loopback"),
        pytest.param("spark://spark-master:7077", {}, id="cluster-by-name"),
        pytest.param("spark://192.0.2.10:7077", {}, id="cluster-by-address"),
        pytest.param("spark://127.0.0.1:7077,192.0.2.10:7077", {}, id="standby-elsewhere"),
        pytest.param("spark://localhost.example.com:7077", {}, id="name-starting-localhost"),
        pytest.param("spark://127.0.0.1.example.com:7077", {}, id="name-starting-127"),
        pytest.param("spark://[::2]:7077", {}, id="ipv6-elsewhere"),
        pytest.param("k8s://https://127.0.0.1:6443", {}, id="kubernetes-api-on-loopback"),
        pytest.param("yarn", {}, id="yarn"),
        pytest.param("spark://[127.0.0.1]:7077", {}, id="unreadable-for-spark-to-refuse"),
    ],
)
def test_the_driver_binds_to_loopback_only_when_its_master_is_on_loopback(master, expected):
    assert addresses_of_the_driver(spark_config(master=master)) == expected


@pytest.mark.parametrize(
    "master, host, bind, expected",
    [
        pytest.param(
            "spark://spark-master:7077",
            "dagster-daemon",
            None,
            {"spark.driver.host": "dagster-daemon"},
            id="host-for-a-cluster",
        ),
        pytest.param(
            "spark://spark-master:7077",
            None,
            "10.0.0.5",
            {"spark.driver.bindAddress": "10.0.0.5"},
            id="bind-address-for-a-cluster",
        ),
        pytest.param(
            "spark://127.0.0.1:7077",
            "10.0.0.5",
            "0.0.0.0",
            {"spark.driver.host": "10.0.0.5", "spark.driver.bindAddress": "0.0.0.0"},
            id="both-over-loopback",
        ),
        pytest.param(
            "local[*]",
            None,
            "::1",
            {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "::1"},
            id="bind-address-alone-over-loopback",
        ),
    ],
)
def test_the_driver_variables_override_the_addresses(master, host, bind, expected):
    config = spark_config(master=master, driver_host=host, driver_bind_address=bind)
    assert addresses_of_the_driver(config) == expected


def test_the_driver_variables_reach_the_session_of_the_engine():
    settings = Settings.from_env(
        {
            "COMPUTE_ENGINE": "spark",
            "SPARK_MASTER_URL": "spark://spark-master:7077",
            "SPARK_DRIVER_HOST": "dagster-daemon",
            "SPARK_DRIVER_BIND_ADDRESS": "0.0.0.0",
        }
    )
    config = compute_engine(settings).spark.spark_config
    assert config["spark.master"] == "spark://spark-master:7077"
    assert addresses_of_the_driver(config) == {
        "spark.driver.host": "dagster-daemon",
        "spark.driver.bindAddress": "0.0.0.0",
    }


def test_spark_connect_sets_no_driver_address():
    """A Spark Connect client runs no driver: its server listens where it was told to."""
    config = spark_config(
        remote="sc://127.0.0.1:15002", driver_host="10.0.0.5", driver_bind_address="0.0.0.0"
    )
    assert config["spark.remote"] == "sc://127.0.0.1:15002"
    assert addresses_of_the_driver(config) == {}
