"""The production stack under `infra/`, checked without Docker.

Nothing here starts a container: the compose file is parsed and interpolated with the values of
`infra/.env.example`, the way `docker compose config` would, and checked for what would break
an `up` (missing files, undeclared volumes, clashing ports, dependencies on services that never
report healthy), for what would break the pipeline inside it (a variable of the configuration
not passed to Dagster, an image that installs other versions than `uv.lock`'s, a package the
code imports but the image lacks), and for secrets written in clear. `dagster.yaml` is
validated against Dagster's own instance schema.
"""

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._serdes import class_from_code_pointer
from packaging.markers import Marker, default_environment

from customer_analytics.settings import REPO_ROOT, Settings

INFRA = REPO_ROOT / "infra"
COMPOSE_FILE = INFRA / "docker-compose.yml"
ENV_EXAMPLE = INFRA / ".env.example"
DAGSTER_YAML = INFRA / "dagster" / "dagster.yaml"
UV_LOCK = REPO_ROOT / "uv.lock"
MAKEFILE = REPO_ROOT / "Makefile"

REQUIRED_SERVICES = {
    "mysql",
    "minio",
    "minio-init",
    "metabase",
    "postgres",
    "dagster-webserver",
    "dagster-daemon",
}
DAGSTER_SERVICES = ("dagster-webserver", "dagster-daemon")
HEALTHCHECKED = {"mysql", "minio", "postgres", "metabase", "dagster-webserver", "dagster-daemon"}
# Host port -> container port of every published port; Metabase moves to 3001 because the
# Dagster UI has 3000. PostgreSQL is reached over the Compose network only.
EXPECTED_PORTS = {
    "dagster-webserver": {3000: 3000},
    "metabase": {3001: 3000},
    "mysql": {3306: 3306},
    "minio": {9000: 9000, 9001: 9001},
}
# docs/contract.md §4 plus what the project's own .env.example adds (EXPORT_DIR, OPENAI_*).
DESIGN_VARIABLES = {
    "RAW_DATA_URI",
    "LAKE_URI",
    "WAREHOUSE_URL",
    "COMPUTE_ENGINE",
    "KEYWORD_CLASSIFIER",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_REGION",
    "ALERT_WEBHOOK_URL",
}
INSTANCE_VARIABLES = {
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_PORT",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
}
# Names whose values must come from infra/.env; the second set is also never shown in clear
# (an access key id is an account name rather than a secret).
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|_KEY$|_KEY_ID$")
SECRET_VALUE_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY")

# Compose interpolation: $$ is a literal $, otherwise ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error} or $NAME.
INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


def interpolate(text: str, env: dict[str, str]) -> str:
    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "\0"
        name = match["braced"] or match["bare"]
        value = env.get(name)
        op = match["op"] or ""
        if op.endswith("?") and not (value if op == ":?" else value is not None):
            raise AssertionError(f"${{{name}}} is required but unset: {match['arg']}")
        if op.endswith("-") and not (value if op == ":-" else value is not None):
            return match["arg"]
        return value or ""

    result = INTERPOLATION.sub(replace, text)
    assert "$" not in result, f"unparseable $ in {text!r}"
    return result.replace("\0", "$")


def referenced_variables(text: str) -> set[str]:
    return {m["braced"] or m["bare"] for m in INTERPOLATION.finditer(text) if not m["escaped"]}


def strings(node: object) -> list[str]:
    """Every string value of a parsed YAML document: what Compose interpolates (not comments)."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for value in node.values() for text in strings(value)]
    if isinstance(node, list):
        return [text for value in node for text in strings(value)]
    return []


def resolve(node: object, env: dict[str, str]) -> object:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, dict):
        return {key: resolve(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, env) for value in node]
    return node


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


def environment(service: dict) -> dict[str, str]:
    """A service's environment in either Compose syntax (mapping or NAME=value list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {name: "" if value is None else str(value) for name, value in env.items()}


def published_ports(service: dict) -> dict[int, int]:
    ports = {}
    for port in service.get("ports", []):
        if isinstance(port, dict):
            host, container = port["published"], port["target"]
        else:
            *_, host, container = str(port).split(":")
        ports[int(host)] = int(str(container).split("/")[0])
    return ports


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of every volume entry, short or long syntax."""
    result = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            result.append((volume.get("source", ""), volume["target"]))
        else:
            source, _, rest = volume.partition(":")
            result.append((source, rest.split(":")[0]))
    return result


def is_bind(source: str) -> bool:
    return source.startswith((".", "/", "~"))


@pytest.fixture(scope="module")
def raw_compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def compose(raw_compose: dict, env_example: dict[str, str]) -> dict:
    """The compose file as `docker compose --env-file infra/.env.example config` resolves it."""
    return resolve(raw_compose, env_example)


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


def test_required_services_are_defined(services):
    assert REQUIRED_SERVICES - services.keys() == set()


def test_every_service_has_a_pinned_image_or_an_existing_dockerfile(services):
    for name, service in services.items():
        build = service.get("build")
        if build:
            build = {"context": build} if isinstance(build, str) else build
            dockerfile = INFRA / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: no Dockerfile at {dockerfile}"
        else:
            image = service.get("image", "")
            tag = image.rpartition(":")[2] if ":" in image else ""
            assert tag and tag != "latest", f"{name}: image {image!r} is not pinned to a tag"


def test_ports_are_the_documented_ones_and_no_host_port_is_used_twice(services):
    seen: dict[int, str] = {}
    for name, service in services.items():
        ports = published_ports(service)
        assert ports == EXPECTED_PORTS.get(name, {}), name
        for host in ports:
            assert host not in seen, f"host port {host}: {seen.get(host)} and {name}"
            seen[host] = name


def test_ports_bind_to_loopback_unless_told_otherwise(raw_compose, env_example):
    # The Dagster UI has no login: exposing it to the network must be a deliberate setting.
    assert env_example["HOST_BIND_ADDRESS"] == "127.0.0.1"
    for name, service in raw_compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("${HOST_BIND_ADDRESS:-127.0.0.1}:"), (name, port)


def test_named_volumes_are_declared_and_used(compose, services):
    declared = set(compose.get("volumes") or {})
    used = {
        source
        for service in services.values()
        for source, _ in mounts(service)
        if source and not is_bind(source)
    }
    assert used <= declared, f"undeclared volumes: {used - declared}"
    assert declared <= used, f"declared but unused volumes: {declared - used}"
    for name in ("mysql", "minio", "postgres"):
        assert any(not is_bind(source) for source, _ in mounts(services[name])), name


def test_files_mounted_from_the_repository_exist(services):
    for name, service in services.items():
        for source, target in mounts(service):
            if is_bind(source):
                assert (INFRA / source).exists(), f"{name}: {source} -> {target} is missing"


def test_init_scripts_are_mounted_where_the_images_run_them(services):
    for name, folder in (("mysql", "mysql/init"), ("postgres", "postgres/init")):
        targets = dict(mounts(services[name]))
        assert targets.get(f"./{folder}") == "/docker-entrypoint-initdb.d", name
        scripts = sorted((INFRA / folder).iterdir())
        assert scripts and all(script.suffix in (".sh", ".sql") for script in scripts), name


def test_healthchecks_exist_where_others_wait_for_them(services):
    for name in HEALTHCHECKED:
        test = services[name].get("healthcheck", {}).get("test")
        assert test, f"{name}: no healthcheck"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, name
    assert "mysqladmin ping" in " ".join(services["mysql"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/api/health" in " ".join(services["metabase"]["healthcheck"]["test"])
    assert "/server_info" in " ".join(services["dagster-webserver"]["healthcheck"]["test"])


def test_dependencies_can_be_satisfied(services):
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {target: {"condition": "service_started"} for target in depends_on}
        for target, spec in depends_on.items():
            assert target in services, f"{name} depends on unknown {target}"
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy":
                assert services[target].get("healthcheck"), f"{name}: {target} has no healthcheck"
            elif condition == "service_completed_successfully":
                # A restarting service never completes, and its dependents would never start.
                assert services[target].get("restart", "no") == "no", f"{name}: {target}"
            else:
                assert condition == "service_started", f"{name}: {condition}"
    for name in DAGSTER_SERVICES:
        conditions = {t: s["condition"] for t, s in services[name]["depends_on"].items()}
        assert conditions == {
            "postgres": "service_healthy",
            "mysql": "service_healthy",
            "minio-init": "service_completed_successfully",
        }, name
    assert services["minio-init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert services["metabase"]["depends_on"]["mysql"]["condition"] == "service_healthy"


def test_every_variable_is_in_the_env_example_and_every_entry_is_used(raw_compose, env_example):
    text = "\n".join(strings(raw_compose))
    used = referenced_variables(text)
    assert used - env_example.keys() == set(), "missing from infra/.env.example"
    assert env_example.keys() - used == set(), "in infra/.env.example but unused"
    required = {m["braced"] for m in INTERPOLATION.finditer(text) if m["op"] in (":?", "?")}
    assert all(env_example[name] for name in required), "a required variable has no placeholder"


def test_no_secret_is_written_in_the_compose_file(raw_compose, env_example):
    for name, service in raw_compose["services"].items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}", value), (
                    f"{name}: {key} must come from infra/.env, got {value!r}"
                )
            userinfo = urlsplit(value).password if "://" in value else None
            if userinfo is not None:
                assert re.fullmatch(r"\$\{[^}]+\}", userinfo), f"{name}: {key} embeds a password"
    # The placeholders must not have been copied into the compose file either.
    text = COMPOSE_FILE.read_text()
    secrets = [v for k, v in env_example.items() if SECRET_VALUE_NAME.search(k) and v]
    assert secrets and not [secret for secret in secrets if secret in text]


def test_dagster_containers_get_the_whole_configuration(services):
    root_example = (REPO_ROOT / ".env.example").read_text()
    project_variables = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", root_example, re.M))
    expected = DESIGN_VARIABLES | project_variables | INSTANCE_VARIABLES
    envs = [environment(services[name]) for name in DAGSTER_SERVICES]
    # Runs are launched by the daemon and code is loaded by both: one configuration for both.
    assert envs[0] == envs[1]
    env = envs[0]
    assert expected <= env.keys(), f"not passed to Dagster: {expected - env.keys()}"

    assert env["RAW_DATA_URI"] == "s3://raw"
    assert env["LAKE_URI"] == "s3://lake"
    assert env["EXPORT_DIR"].startswith("s3://")
    assert env["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert env["AWS_REGION"] == "us-east-1"
    warehouse = urlsplit(env["WAREHOUSE_URL"])
    assert warehouse.scheme == "mysql+pymysql"
    assert (warehouse.username, warehouse.hostname, warehouse.port, warehouse.path) == (
        "customer_analytics",
        "mysql",
        3306,
        "/customer_analytics",
    )
    assert env["DAGSTER_POSTGRES_HOST"] in services
    # The project accepts the values as they arrive in the containers.
    settings = Settings.from_env(env)
    assert (settings.raw_data_uri, settings.lake_uri) == ("s3://raw", "s3://lake")
    assert settings.warehouse_url_from_env


def test_dagster_credentials_are_those_of_the_stack(raw_compose):
    dagster = environment(raw_compose["services"]["dagster-webserver"])
    postgres = environment(raw_compose["services"]["postgres"])
    minio_init = environment(raw_compose["services"]["minio-init"])
    mysql = environment(raw_compose["services"]["mysql"])

    def name(value: str) -> str:
        return referenced_variables(value).pop()

    assert name(dagster["DAGSTER_POSTGRES_USER"]) == name(postgres["POSTGRES_USER"])
    assert name(dagster["DAGSTER_POSTGRES_PASSWORD"]) == name(postgres["POSTGRES_PASSWORD"])
    assert name(dagster["DAGSTER_POSTGRES_DB"]) == name(postgres["POSTGRES_DB"])
    assert name(dagster["AWS_ACCESS_KEY_ID"]) == name(minio_init["MINIO_APP_ACCESS_KEY"])
    assert name(dagster["AWS_SECRET_ACCESS_KEY"]) == name(minio_init["MINIO_APP_SECRET_KEY"])
    assert referenced_variables(dagster["WAREHOUSE_URL"]) == {
        name(mysql["CUSTOMER_ANALYTICS_PASSWORD"])
    }


def test_dagster_commands(services):
    webserver = services["dagster-webserver"]["command"]
    assert webserver == ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
    assert services["dagster-daemon"]["command"] == [
        "dagster-daemon",
        "run",
        "-w",
        "workspace.yaml",
    ]
    # Both share the compute-log volume the instance writes to.
    for name in DAGSTER_SERVICES:
        assert "/opt/dagster/storage" in dict(mounts(services[name])).values(), name


def test_mysql_server_options(services):
    command = services["mysql"]["command"]
    assert services["mysql"]["image"].startswith("mysql:8.0")
    for option in (
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_bin",
        "--local-infile=1",
    ):
        assert option in command


def guarded_variables(script: Path) -> set[str]:
    """The variables a script requires (`: "${NAME:?}"`)."""
    return set(re.findall(r'^: "\$\{([A-Z_][A-Z0-9_]*):\?\}"', script.read_text(), re.M))


def test_init_scripts_are_valid_shell_and_get_their_variables(services):
    scripts = {
        "mysql": INFRA / "mysql/init/01-users.sh",
        "postgres": INFRA / "postgres/init/01-metabase.sh",
        "minio-init": INFRA / "minio/create-buckets.sh",
    }
    for service, script in scripts.items():
        shell = "sh" if script.read_text().startswith("#!/bin/sh") else "bash"
        subprocess.run([shell, "-n", str(script)], check=True)
        guarded = guarded_variables(script)
        assert guarded, script
        assert guarded <= environment(services[service]).keys(), f"{script.name}: {guarded}"


def test_mysql_accounts_have_least_privilege():
    script = (INFRA / "mysql/init/01-users.sh").read_text()
    sql = re.sub(r"^\s*(#|--).*$", "", script, flags=re.M)
    assert "CREATE DATABASE IF NOT EXISTS customer_analytics" in sql
    grants = {
        user: " ".join(privileges.split())
        for privileges, user in re.findall(
            r"GRANT (.+?)\s+ON customer_analytics\.\* TO '(\w+)'@'%'", sql, re.S
        )
    }
    assert grants == {
        "customer_analytics": "SELECT, INSERT, UPDATE, DELETE, CREATE, INDEX, ALTER",
        "metabase": "SELECT",
    }
    assert "*.*" not in sql and "GRANT OPTION" not in sql and "ALL PRIVILEGES" not in sql


def test_minio_buckets_and_policy_match_the_configuration(services):
    script = (INFRA / "minio/create-buckets.sh").read_text()
    buckets = set(re.findall(r"mc mb --ignore-existing local/([a-z0-9.-]+)", script))
    env = environment(services["dagster-webserver"])
    used = {urlsplit(env[name]).netloc for name in ("RAW_DATA_URI", "LAKE_URI", "EXPORT_DIR")}
    assert buckets == used == {"raw", "lake"}

    policy = json.loads((INFRA / "minio/customer-analytics-policy.json").read_text())
    resources = {resource for s in policy["Statement"] for resource in s["Resource"]}
    assert resources == {f"arn:aws:s3:::{b}{suffix}" for b in buckets for suffix in ("", "/*")}
    mounted = dict((target, source) for source, target in mounts(services["minio-init"]))
    assert services["minio-init"]["entrypoint"][-1] in mounted


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def shell_commands(instructions: list[tuple[str, str]]) -> list[str]:
    """The commands of every RUN, one per `&&` link."""
    return [
        command.strip() for op, args in instructions if op == "RUN" for command in args.split("&&")
    ]


def dockerfile_args(instructions: list[tuple[str, str]]) -> dict[str, str]:
    return dict(args.split("=", 1) for op, args in instructions if op == "ARG")


def makefile_variable(name: str) -> str:
    [value] = re.findall(rf"^{name}\s*:?=\s*(\S+)$", MAKEFILE.read_text(), re.M)
    return value


def image_python(instructions: list[tuple[str, str]]) -> str:
    return re.fullmatch(r"python:(\d+\.\d+)-.+", instructions[0][1])[1]


def image_extras(instructions: list[tuple[str, str]]) -> set[str]:
    """The extras of pyproject.toml that the image's `uv sync` installs with the project."""
    syncs = [c.split() for c in shell_commands(instructions) if c.startswith("uv sync")]
    extras = {tuple(s[i + 1] for i, arg in enumerate(s) if arg == "--extra") for s in syncs}
    assert len(extras) == 1, "every uv sync of the image installs the same extras"
    return set(extras.pop())


def locked_distributions(extras: set[str], python: str) -> dict[str, str]:
    """Name -> version of what `uv sync --frozen --extra ...` installs from uv.lock on CPython
    `python` and Linux: the project, its dependencies and those of `extras`, and theirs, as far
    as their markers hold there."""
    lock = tomllib.loads(UV_LOCK.read_text())
    versions: dict[str, list[dict]] = {}
    for package in lock["package"]:
        versions.setdefault(package["name"], []).append(package)
    environment = {
        **default_environment(),
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
    }

    def locked(dependency: dict) -> dict:
        [package] = [
            package
            for package in versions[dependency["name"]]
            if dependency.get("version", package["version"]) == package["version"]
        ]
        return package

    [project] = [p for p in lock["package"] if p["source"].get("editable") == "."]
    installed: dict[str, str] = {}
    extras_done: dict[str, set[str]] = {}
    pending = [(project, set(extras))]
    while pending:
        package, wanted = pending.pop()
        name = package["name"]
        first = name not in installed
        new = wanted - extras_done.setdefault(name, set())
        if not first and not new:
            continue
        installed[name] = package["version"]
        extras_done[name] |= new
        dependencies = package.get("dependencies", []) if first else []
        dependencies += [d for extra in new for d in package["optional-dependencies"][extra]]
        pending += [
            (locked(d), set(d.get("extra", [])))
            for d in dependencies
            if "marker" not in d or Marker(d["marker"]).evaluate(environment)
        ]
    return installed


@pytest.fixture(scope="module")
def image_distributions(services) -> dict[str, str]:
    """What the Dagster image installs: uv.lock, with the extras its `uv sync` names."""
    build = services["dagster-webserver"]["build"]
    instructions = dockerfile_instructions(INFRA / build["context"] / build["dockerfile"])
    return locked_distributions(image_extras(instructions), image_python(instructions))


def test_dagster_image(services):
    build = services["dagster-webserver"]["build"]
    assert services["dagster-daemon"]["build"] == build
    context = (INFRA / build["context"]).resolve()
    assert context == REPO_ROOT
    dockerfile = context / build["dockerfile"]
    instructions = dockerfile_instructions(dockerfile)

    # Bookworm: Debian 13, the default variant, has no openjdk-17 (see test_spark.py).
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in env
    # uv.lock and nothing else, with the uv of `make install`: pip installs uv and only uv.
    commands = shell_commands(instructions)
    assert [c for c in commands if "pip install" in c] == ['pip install "uv==${UV_VERSION}"']
    assert dockerfile_args(instructions)["UV_VERSION"] == makefile_variable("UV_VERSION")
    # --frozen: the lock as it is, never resolved again. The dependencies first, in a layer of
    # their own; then the project, as a package (the code is copied, not mounted).
    syncs = [c for c in commands if c.startswith("uv ")]
    assert syncs == [
        "uv sync --frozen --no-dev --extra stack --no-install-project --compile-bytecode",
        "uv sync --frozen --no-dev --extra stack --no-editable",
    ]
    dependencies_layer = [i for i, (op, args) in enumerate(instructions) if syncs[0] in args]
    code_copied = instructions.index(("COPY", "customer_analytics ./customer_analytics"))
    assert dependencies_layer[0] < code_copied
    # The virtualenv of the image's Python, first on PATH: the commands, the runs the daemon
    # starts (its Python) and a local Spark's Python workers all find the lock's packages.
    image_env = dict(
        pair.split("=", 1) for op, args in instructions if op == "ENV" for pair in args.split()
    )
    assert image_env["PATH"].startswith(f"{image_env['UV_PROJECT_ENVIRONMENT']}/bin:")
    assert image_env["UV_PYTHON_DOWNLOADS"] == "never"

    allowed = {
        line[1:].rstrip("/")
        for line in dockerfile.with_name(dockerfile.name + ".dockerignore").read_text().split()
        if line.startswith("!")
    }
    copied = {}
    for op, args in instructions:
        if op == "COPY":
            *sources, target = args.split()
            for source in sources:
                assert (context / source).exists(), f"COPY {source}: missing"
                assert source in allowed, f"COPY {source}: excluded by the .dockerignore"
                copied[source] = target
    assert copied["infra/dagster/dagster.yaml"] == "${DAGSTER_HOME}/dagster.yaml"
    assert copied["workspace.yaml"] == "./"
    assert copied["uv.lock"] == "./"


def test_the_extras_of_the_image_are_the_stacks_clients(image_distributions):
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    dev = {distribution_name(r) for r in pyproject["project"]["optional-dependencies"]["dev"]}
    # dagster-postgres (psycopg2) for the instance, of the Dagster release of the project's
    # other integrations; pyspark's Spark Connect client (the project's own); PyMySQL's
    # `cryptography`.
    assert image_distributions["dagster-postgres"] == image_distributions["dagster-aws"]
    assert {
        "psycopg2-binary",
        "grpcio",
        "grpcio-status",
        "googleapis-common-protos",
        "zstandard",
        "cryptography",
    } <= image_distributions.keys()
    # The test tools stay out of the image.
    assert not dev & image_distributions.keys()


def distribution_name(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip("'\"")).group()
    return re.sub(r"[-_.]+", "-", name).lower()


def test_dagster_image_installs_every_package_the_code_imports(image_distributions):
    installed = image_distributions.keys()

    imported = set()
    for path in (REPO_ROOT / "customer_analytics").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__", "customer_analytics"}
    providers = metadata.packages_distributions()
    missing = {
        module
        for module in third_party
        if not {distribution_name(d) for d in providers.get(module, [])} & installed
    }
    assert not missing, f"imported by customer_analytics but not installed in the image: {missing}"


@pytest.fixture(scope="module")
def instance_yaml() -> dict:
    return yaml.safe_load(DAGSTER_YAML.read_text())


def test_dagster_yaml_passes_dagsters_own_schema(instance_yaml, tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(home))
    assert custom_class is None
    # The instance-level schema leaves class configs open; each class checks its own.
    for key in ("run_launcher", "compute_logs", "local_artifact_storage"):
        pointer = config[key]
        cls = class_from_code_pointer(pointer["module"], pointer["class"])
        result = validate_config(cls.config_type(), pointer.get("config") or {})
        assert result.success, (key, [error.message for error in result.errors or []])


def test_dagster_yaml_uses_postgres_and_the_queue(instance_yaml, services):
    postgres_db = dict(instance_yaml["storage"]["postgres"]["postgres_db"])
    # dagster-postgres brings psycopg2, but SQLAlchemy 2.1 reads a bare postgresql:// as
    # psycopg 3: without the explicit driver the instance cannot connect.
    assert postgres_db.pop("scheme") == "postgresql+psycopg2"
    variables = {value["env"] for value in postgres_db.values()}
    assert variables == INSTANCE_VARIABLES
    assert variables <= environment(services["dagster-daemon"]).keys()

    # `concurrency.runs` configures Dagster's QueuedRunCoordinator.
    assert instance_yaml["concurrency"]["runs"]["max_concurrent_runs"] >= 1
    # The `warehouse` and `llm` pools of the assets: one step of each at a time.
    assert instance_yaml["concurrency"]["pools"]["default_limit"] == 1
    assert instance_yaml["run_launcher"]["class"] == "DefaultRunLauncher"
    assert instance_yaml["telemetry"] == {"enabled": False}
    # Logs land on the volume both containers mount.
    for key in ("compute_logs", "local_artifact_storage"):
        assert instance_yaml[key]["config"]["base_dir"].startswith("/opt/dagster/storage")
