"""The Spark cluster of `infra/spark/`, checked without Docker.

`infra/spark/docker-compose.yml` is an overlay: `docker compose -f infra/docker-compose.yml -f
infra/spark/docker-compose.yml` merges it into the main stack. Both files are parsed,
interpolated with `infra/.env.example` and merged here the way Compose merges them, and the
result is checked for what would break the cluster or a run on it: a worker that does not point
at the master, ports that clash, a Dagster container left on DuckDB or unreachable by the
executors, a driver whose Spark (or Java) differs from the executors', an s3a connector that does
not match the image's Hadoop. The driver's spark-defaults.conf is handed to a real local Spark,
which must read it; `spark.jars.packages` is left out there, as it needs Maven Central.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata, util
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement

from customer_analytics.settings import COMPUTE_ENGINES, REPO_ROOT, Settings
from customer_analytics_tests.infra.test_compose import (
    COMPOSE_FILE,
    DAGSTER_SERVICES,
    ENV_EXAMPLE,
    INFRA,
    INTERPOLATION,
    SECRET_NAME,
    SECRET_VALUE_NAME,
    dockerfile_instructions,
    environment,
    image_extras,
    image_python,
    locked_distributions,
    mounts,
    published_ports,
    read_env_file,
    referenced_variables,
    resolve,
    strings,
)

SPARK_COMPOSE_FILE = INFRA / "spark" / "docker-compose.yml"
DOCKERFILE = INFRA / "dagster" / "Dockerfile"
README = INFRA / "README.md"

MASTER = "spark-master"
WORKERS = ("spark-worker-1", "spark-worker-2")
SPARK_SERVICES = (MASTER, *WORKERS)
MASTER_URL = "spark://spark-master:7077"
# Host port -> container port: the master's RPC and UI, each worker's UI.
SPARK_PORTS = {MASTER: {7077: 7077, 8080: 8080}, WORKERS[0]: {8081: 8081}, WORKERS[1]: {8082: 8081}}
IMAGE = re.compile(r"apache/spark:(?P<version>4\.\d+\.\d+)-scala2\.13-java17-python3-ubuntu")

# Compose merges these sequences of a service across files (ports and mounts are added, not
# replaced); any other sequence (command, entrypoint, healthcheck test) is replaced, and
# mappings (environment, depends_on, healthcheck) are merged key by key.
APPENDED = {"ports", "volumes", "configs", "secrets", "expose"}


def merge(base: object, override: object, key: str = "") -> object:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for name, value in override.items():
            merged[name] = merge(base[name], value, name) if name in base else value
        return merged
    if key in APPENDED and isinstance(base, list) and isinstance(override, list):
        return base + [item for item in override if item not in base]
    return override


def normalized(compose: dict) -> dict:
    """Environments as mappings (either syntax), so that they merge by variable name."""
    services = {}
    for name, service in compose.get("services", {}).items():
        service = dict(service)
        if "environment" in service:
            service["environment"] = environment(service)
        services[name] = service
    return {**compose, "services": services}


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def raw_spark() -> dict:
    return yaml.safe_load(SPARK_COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def spark(raw_spark, env_example) -> dict:
    return normalized(resolve(raw_spark, env_example))


@pytest.fixture(scope="module")
def main(env_example) -> dict:
    return normalized(resolve(yaml.safe_load(COMPOSE_FILE.read_text()), env_example))


@pytest.fixture(scope="module")
def merged(main, spark) -> dict:
    """`docker compose -f infra/docker-compose.yml -f infra/spark/docker-compose.yml config`."""
    return merge(main, spark)


@pytest.fixture(scope="module")
def services(merged) -> dict[str, dict]:
    return merged["services"]


@pytest.fixture(scope="module")
def spark_version() -> str:
    args = [args for op, args in dockerfile_instructions(DOCKERFILE) if op == "ARG"]
    versions = [arg.partition("=")[2] for arg in args if arg.startswith("SPARK_VERSION=")]
    assert len(versions) == 1, "infra/dagster/Dockerfile: one ARG SPARK_VERSION=<release>"
    return versions[0]


@pytest.fixture(scope="module")
def spark_hadoop(spark_version) -> str:
    """The Hadoop the image's Spark is built on, which hadoop-aws must match: the version of the
    hadoop-client-api jar of the virtualenv's pyspark, the image's release (`make install`
    installs uv.lock's, which test_dagster_image_runs_a_spark_driver holds to SPARK_VERSION)."""
    assert metadata.version("pyspark") == spark_version, "the virtualenv's pyspark is another Spark"
    jars = Path(util.find_spec("pyspark").origin).parent / "jars"
    [jar] = jars.glob("hadoop-client-api-*.jar")
    return jar.name.removeprefix("hadoop-client-api-").removesuffix(".jar")


def test_the_spark_file_is_an_overlay_of_the_main_stack(raw_spark, main):
    # The project name, the network and the volumes are the main file's.
    assert not {"name", "networks", "volumes"} & raw_spark.keys()
    assert set(raw_spark["services"]) == {*SPARK_SERVICES, *DAGSTER_SERVICES}
    assert not set(raw_spark["services"]) & (main["services"].keys() - set(DAGSTER_SERVICES))
    for name in DAGSTER_SERVICES:
        # Only additions: the image, command and the rest stay those of infra/docker-compose.yml.
        assert set(raw_spark["services"][name]) <= {
            "environment",
            "depends_on",
            "configs",
            "hostname",
        }, name


def test_master_and_two_workers_of_one_pinned_image(services, spark_version):
    images = {services[name]["image"] for name in SPARK_SERVICES}
    assert len(images) == 1, images
    match = IMAGE.fullmatch(images.pop())
    assert match, "the official image, Scala 2.13, Java 17 like the driver, with python3"
    # The executors run the Spark of the driver, pinned in the Dagster image.
    assert match["version"] == spark_version

    master = services[MASTER]
    assert master["command"][:2] == [
        "/opt/spark/bin/spark-class",
        "org.apache.spark.deploy.master.Master",
    ]
    options = dict(zip(master["command"][2::2], master["command"][3::2], strict=True))
    assert options == {"--host": MASTER, "--port": "7077", "--webui-port": "8080"}
    assert master["hostname"] == MASTER
    assert re.fullmatch(
        r"-Dspark\.deploy\.defaultCores=\d+", master["environment"]["SPARK_MASTER_OPTS"]
    )

    url = urlsplit(MASTER_URL)
    assert (url.hostname, str(url.port)) == (MASTER, options["--port"])
    for name in WORKERS:
        worker = services[name]
        assert worker["command"] == [
            "/opt/spark/bin/spark-class",
            "org.apache.spark.deploy.worker.Worker",
            MASTER_URL,
        ], name
        env = worker["environment"]
        assert int(env["SPARK_WORKER_CORES"]) >= 1, name
        assert re.fullmatch(r"\d+[mg]", env["SPARK_WORKER_MEMORY"]), name
        # The name the worker announces is the one the others resolve on the network.
        assert worker["hostname"] == env["SPARK_LOCAL_HOSTNAME"] == name
        assert worker["depends_on"] == {MASTER: {"condition": "service_healthy"}}, name


def test_every_service_is_on_the_one_network_of_the_project(merged, services):
    assert merged["name"] == "customer-analytics"
    assert "networks" not in merged
    # No service picks a network of its own: all are on the project's default network, where
    # the service names (spark-master, minio, dagster-daemon...) resolve.
    for name, service in services.items():
        assert "networks" not in service and "network_mode" not in service, name
    assert {*SPARK_SERVICES, *DAGSTER_SERVICES, "minio"} <= services.keys()


def test_ports_do_not_clash_with_the_main_stack(raw_spark, services):
    seen: dict[int, str] = {}
    for name, service in services.items():
        ports = published_ports(service)
        if name in SPARK_PORTS:
            assert ports == SPARK_PORTS[name], name
        for host in ports:
            assert host not in seen, f"host port {host}: {seen.get(host)} and {name}"
            seen[host] = name
    # Loopback unless HOST_BIND_ADDRESS says otherwise, as in the main stack.
    for name in SPARK_SERVICES:
        for port in raw_spark["services"][name]["ports"]:
            assert port.startswith("${HOST_BIND_ADDRESS:-127.0.0.1}:"), (name, port)
    # The Dagster services publish nothing more than before.
    assert published_ports(services["dagster-daemon"]) == {}
    assert published_ports(services["dagster-webserver"]) == {3000: 3000}


def test_healthchecks_and_dependencies(services):
    master_test = " ".join(services[MASTER]["healthcheck"]["test"])
    assert "http://localhost:8080/json/" in master_test and "ALIVE" in master_test
    for name in WORKERS:
        test = services[name]["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL", name
        # Healthy once registered: the worker's page names its master then.
        assert "http://localhost:8081/json/" in test[1] and "spark://" in test[1], name
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if spec["condition"] == "service_healthy":
                assert services[target].get("healthcheck"), f"{name}: {target}"


def test_dagster_services_get_the_spark_engine(main, services):
    for name in DAGSTER_SERVICES:
        service = services[name]
        env = service["environment"]
        assert env["COMPUTE_ENGINE"] == "spark", name
        assert env["SPARK_MASTER_URL"] == MASTER_URL, name
        # Everything else of the main stack's configuration still reaches the container.
        before = main["services"][name]["environment"]
        assert {
            key: env[key] for key in before if key not in ("COMPUTE_ENGINE", "SPARK_MASTER_URL")
        } == {
            key: value
            for key, value in before.items()
            if key not in ("COMPUTE_ENGINE", "SPARK_MASTER_URL")
        }
        # spark.driver.host defaults to SPARK_LOCAL_HOSTNAME: the container's own name, which
        # the executors resolve on the network.
        assert service["hostname"] == env["SPARK_LOCAL_HOSTNAME"] == name
        # The main stack's dependencies stay, and the master must be up first.
        assert service["depends_on"] == {
            **main["services"][name]["depends_on"],
            MASTER: {"condition": "service_healthy"},
        }, name
        # Spark reads spark-defaults.conf from SPARK_CONF_DIR.
        [config] = service["configs"]
        assert config["target"] == f"{env['SPARK_CONF_DIR']}/spark-defaults.conf", name

        if "spark" in COMPUTE_ENGINES:  # once settings.py knows the engine
            assert Settings.from_env(env).compute_engine == "spark"

    # The compute logs and the Ivy cache of spark.jars.packages share the volume.
    ivy = spark_defaults()["spark.jars.ivy"]
    for name in DAGSTER_SERVICES:
        assert any(ivy.startswith(f"{target}/") for _, target in mounts(services[name])), name


def spark_defaults() -> dict[str, str]:
    """The inline spark-defaults.conf of the overlay, as Spark reads a properties file."""
    raw = yaml.safe_load(SPARK_COMPOSE_FILE.read_text())
    content = raw["configs"]["spark-defaults"]["content"]
    pairs = [line.split(None, 1) for line in content.splitlines()]
    return {pair[0]: pair[1].strip() for pair in pairs if pair and not pair[0].startswith("#")}


def test_spark_defaults_reach_minio_through_s3a(services, spark_hadoop):
    conf = spark_defaults()
    # hadoop-aws brings the AWS SDK with it; its version must be the image's Hadoop.
    group, artifact, version = conf["spark.jars.packages"].split(":")
    assert (group, artifact) == ("org.apache.hadoop", "hadoop-aws")
    assert version == spark_hadoop, "hadoop-aws must match Spark's Hadoop"
    # The project's s3:// URIs go through S3A as well, path-style and over HTTP for MinIO.
    assert conf["spark.hadoop.fs.s3.impl"] == "org.apache.hadoop.fs.s3a.S3AFileSystem"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    dagster = services["dagster-daemon"]["environment"]
    assert urlsplit(dagster["AWS_ENDPOINT_URL"]).scheme == "http"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.endpoint.region"] == dagster["AWS_REGION"]
    # No credential is written in the configuration: Spark takes them from the environment.
    assert not [key for key in conf if re.search(r"key|secret|password|token", key, re.I)]

    # The executors inherit the workers' environment: the same endpoint and account as Dagster.
    for name in WORKERS:
        env = services[name]["environment"]
        for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
            assert env[key] == dagster[key], (name, key)


def test_no_secret_is_written_in_the_spark_file_and_every_variable_is_known(raw_spark, env_example):
    text = SPARK_COMPOSE_FILE.read_text()
    for name, service in raw_spark["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}", value), (
                    name,
                    key,
                )
    values = "\n".join(strings(raw_spark))
    required = {m["braced"] for m in INTERPOLATION.finditer(values) if m["op"] in (":?", "?")}
    assert required <= env_example.keys(), "a required variable missing from infra/.env.example"
    # The others have defaults here and are documented with the cluster.
    optional = referenced_variables(values) - env_example.keys()
    readme = README.read_text()
    assert optional and all(f"`{name}`" in readme for name in optional), optional
    # The placeholders of infra/.env.example are not copied in either.
    assert not [
        v for k, v in env_example.items() if SECRET_VALUE_NAME.search(k) and v and v in text
    ]


def test_dagster_image_runs_a_spark_driver(spark_version):
    instructions = dockerfile_instructions(DOCKERFILE)
    # openjdk-17 is in Debian 12 (bookworm), not in Debian 13 (trixie, which has 21 and 25).
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = [args for op, args in instructions if op == "RUN"]
    [apt] = [run for run in runs if "apt-get install" in run]
    assert re.search(r"apt-get install -y --no-install-recommends openjdk-17-jre-headless", apt)
    env = dict(
        pair.split("=", 1) for op, args in instructions if op == "ENV" for pair in args.split()
    )
    java_home = env["JAVA_HOME"]
    # JAVA_HOME names Debian's JRE folder whatever the architecture, and is checked at build.
    assert 'ln -s "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)" "$JAVA_HOME"' in apt
    assert '"$JAVA_HOME/bin/java" -version' in apt
    assert java_home == "/usr/lib/jvm/java-17"
    # Where Debian's package puts java, on a Debian machine that has it (this one, CI).
    listed = shutil.which("dpkg") and subprocess.run(
        ["dpkg", "-L", "openjdk-17-jre-headless"], capture_output=True, text=True, check=False
    )
    if listed and listed.returncode == 0:
        arch = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert f"/usr/lib/jvm/java-17-openjdk-{arch}/bin/java" in listed.stdout.split()

    # The image installs uv.lock's pyspark, the Spark the suite runs: the cluster's release.
    locked = locked_distributions(image_extras(instructions), image_python(instructions))
    assert locked["pyspark"] == spark_version, "uv.lock's pyspark is not the cluster's Spark"
    # And its build stops if the pyspark it installed is another release.
    [check] = [run for run in runs if "pyspark.__version__" in run]
    assert check.startswith("uv sync ") and re.search(
        r'if \[ "\$locked" != "\$SPARK_VERSION" \]; then .*exit 1;', check
    )
    # The release lies inside what pyproject.toml asks for.
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    [wanted] = [
        Requirement(r) for r in pyproject["project"]["dependencies"] if r.startswith("pyspark")
    ]
    assert wanted.specifier.contains(spark_version), (str(wanted), spark_version)
    # The folder the overlay mounts spark-defaults.conf into exists and the user can read it.
    user = [run for run in runs if "useradd" in run]
    assert user and "/opt/dagster/spark-conf" in user[0]


def test_the_readme_tells_how_to_run_on_the_cluster():
    readme = README.read_text()
    section = readme.split("\n## Spark\n", 1)[1].split("\n## ", 1)[0]
    for text in (
        "docker compose -f infra/docker-compose.yml -f infra/spark/docker-compose.yml",
        "COMPUTE_ENGINE=spark",
        f"SPARK_MASTER_URL={MASTER_URL}",
        "SPARK_REMOTE=sc://",
        "s3a://",
        "org.apache.hadoop:hadoop-aws:",
        "JAVA_HOME",
    ):
        assert text in section, text


def test_spark_reads_the_drivers_configuration(services, tmp_path):
    """A real driver (local mode, this machine's pyspark and Java) reads spark-defaults.conf
    from SPARK_CONF_DIR, takes the host the executors call back on from SPARK_LOCAL_HOSTNAME and
    the MinIO endpoint and keys from the AWS variables of the Dagster containers."""
    # The file as the containers get it, comments and all, less the Maven download.
    content = yaml.safe_load(SPARK_COMPOSE_FILE.read_text())["configs"]["spark-defaults"]["content"]
    lines = [line for line in content.splitlines() if not line.startswith("spark.jars.packages")]
    (tmp_path / "spark-defaults.conf").write_text("\n".join(lines) + "\n")
    conf = {k: v for k, v in spark_defaults().items() if k != "spark.jars.packages"}
    dagster = services["dagster-daemon"]["environment"]
    env = {
        **os.environ,
        "SPARK_CONF_DIR": str(tmp_path),
        # The container's name would not resolve here; localhost stands in for it.
        "SPARK_LOCAL_HOSTNAME": "localhost",
        **{
            key: dagster[key]
            for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        },
    }
    env.pop("SPARK_REMOTE", None)
    code = """
import json
from pyspark.sql import SparkSession
spark = SparkSession.builder.master("local[1]").appName("conf-check").getOrCreate()
conf = spark.sparkContext.getConf()
hadoop = spark.sparkContext._jsc.hadoopConfiguration()
print(json.dumps({
    "driver_host": conf.get("spark.driver.host"),
    "spark": {key: conf.get(key, None) for key in KEYS},
    "hadoop": {key: hadoop.get(key) for key in ("fs.s3a.endpoint", "fs.s3a.access.key", "fs.s3.impl", "fs.s3a.path.style.access", "fs.s3a.endpoint.region")},
}))
spark.stop()
"""
    result = subprocess.run(
        [sys.executable, "-c", f"KEYS = {sorted(conf)!r}\n{code}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["driver_host"] == "localhost"
    assert seen["spark"] == conf
    assert seen["hadoop"] == {
        "fs.s3a.endpoint": dagster["AWS_ENDPOINT_URL"],
        "fs.s3a.access.key": dagster["AWS_ACCESS_KEY_ID"],
        "fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "fs.s3a.path.style.access": "true",
        "fs.s3a.endpoint.region": dagster["AWS_REGION"],
    }
