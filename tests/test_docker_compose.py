"""The Docker deployment in docker/: compose file, Dockerfile, build-context filter, .env.example.

No Docker engine is needed. docker/compose.yaml is validated against the Compose Specification
JSON schema, vendored in tests/schemas/compose-spec.json (Apache-2.0, The Compose Specification
Authors; taken unmodified from the npm package dclint 3.1.0, see tests/schemas/README.md), both
as written and after variable interpolation the way Compose does it. The rest checks what the
schema cannot: health checks, start-up order, one shared image, queues, secrets, and that the
commands and files the image relies on exist in the repository.
"""

from __future__ import annotations

import copy
import hashlib
import http.server
import importlib.util
import json
import re
import socket
import subprocess
import sys
import threading
import tomllib
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
DOCKERIGNORE = DOCKER / "Dockerfile.dockerignore"
ENV_EXAMPLE = DOCKER / ".env.example"
HEALTHCHECK_SCRIPT = DOCKER / "healthcheck.py"
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "compose-spec.json"
SCHEMA_SHA256 = "46b7d35f19dd93a05f8fea530291bf84d881c1791ec167ecf0e6fb94e639d496"

APP_SERVICES = ("migrate", "web", "worker", "worker-ingest")
LONG_RUNNING = ("postgres", "redis", "web", "worker", "worker-ingest")
QUEUES = {"chat", "tools", "ingest", "default"}
# Every variable the settings document for deployments (see switchboard.settings).
DOCUMENTED_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "SWITCHBOARD_SECRET_KEY",
    "SWITCHBOARD_ENCRYPTION_KEYS",
    "SWITCHBOARD_ALLOWED_HOSTS",
    "SWITCHBOARD_CSRF_TRUSTED_ORIGINS",
    "SWITCHBOARD_DEBUG",
    "SWITCHBOARD_LOG_LEVEL",
    "SWITCHBOARD_LOG_FORMAT",
    "SWITCHBOARD_DATA_DIR",
    "SWITCHBOARD_BOOTSTRAP_EMAIL",
    "SWITCHBOARD_BOOTSTRAP_PASSWORD",
    "SWITCHBOARD_BOOTSTRAP_API_KEY",
    "SWITCHBOARD_WORKER_CONCURRENCY",
)
# Values standing in for the secrets an operator puts in docker/.env.
FILLED_SECRETS = {
    "POSTGRES_PASSWORD": "pg-test-password",
    "SWITCHBOARD_SECRET_KEY": "test-secret-key",
    "SWITCHBOARD_ENCRYPTION_KEYS": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}


# --- helpers: Compose interpolation ---------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    pass


def interpolate_string(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, ${VAR:+alt}, $$."""

    def replace(match: re.Match) -> str:
        if match.group("escaped"):
            return "$"
        name = match.group("braced") or match.group("named")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        unset_or_empty = not current
        if op in (":-", "-"):
            return arg if (unset_or_empty if op == ":-" else current is None) else current
        if op in (":?", "?"):
            if unset_or_empty if op == ":?" else current is None:
                raise MissingVariable(f"required variable {name} is missing a value: {arg}")
            return current
        if op in (":+", "+"):
            return "" if (unset_or_empty if op == ":+" else current is None) else arg
        return current or ""

    return _VARIABLE.sub(replace, value)


def interpolate(node, env: dict[str, str]):
    if isinstance(node, str):
        return interpolate_string(node, env)
    if isinstance(node, list):
        return [interpolate(item, env) for item in node]
    if isinstance(node, dict):
        return {key: interpolate(value, env) for key, value in node.items()}
    return node


def referenced_variables(node, found: dict[str, str | None] | None = None) -> dict[str, str | None]:
    """Variable name -> its operator (":?", ":-", ... or None) in every value; $$ is no variable."""
    found = {} if found is None else found
    if isinstance(node, str):
        for match in _VARIABLE.finditer(node):
            name = match.group("braced") or match.group("named")
            if name and found.get(name) != ":?":
                found[name] = match.group("op")
    elif isinstance(node, list):
        for item in node:
            referenced_variables(item, found)
    elif isinstance(node, dict):
        for value in node.values():
            referenced_variables(value, found)
    return found


def parse_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, separator, value = line.partition("=")
            assert separator, f"{path.name}: not KEY=value: {line!r}"
            values[key.strip()] = value
    return values


# --- helpers: Dockerfile and its ignore file --------------------------------------------------------


def dockerfile_stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, as (KEYWORD, arguments), continuations joined."""
    instructions, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        statement = (pending + stripped).strip()
        pending = ""
        if statement:
            keyword, _, arguments = statement.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions:
        if keyword == "FROM":
            stages.append([])
        assert stages, f"{keyword} before the first FROM"
        stages[-1].append((keyword, arguments))
    return stages


def strip_flags(arguments: str) -> str:
    """`--chmod=0755 --from=build a b` -> `a b`."""
    return " ".join(word for word in arguments.split() if not word.startswith("--"))


def _ignore_regex(pattern: str) -> re.Pattern:
    regex, index = "", 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            index += 2
            if pattern.startswith("/", index):
                index += 1
                regex += "(?:.*/)?"
            else:
                regex += ".*"
            continue
        if char == "*":
            regex += "[^/]*"
        elif char == "?":
            regex += "[^/]"
        elif char == "[":
            end = pattern.index("]", index)
            regex += pattern[index : end + 1]
            index = end + 1
            continue
        else:
            regex += re.escape(char)
        index += 1
    return re.compile(regex + r"\Z")


def ignore_rules(path: Path) -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        rules.append((negated, _ignore_regex(pattern)))
    return rules


def excluded_from_context(relative_path: str, rules) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    parts = relative_path.split("/")
    candidates = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    excluded = False
    for negated, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


# --- helpers: the repository's own modules ------------------------------------------------------------


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def module_file(dotted: str) -> Path | None:
    """Where `pip install .` takes a module from, following pyproject's package-dir mapping."""
    setuptools = pyproject().get("tool", {}).get("setuptools", {})
    top, *rest = dotted.split(".")
    package_dir = setuptools.get("package-dir", {})
    if top in package_dir:
        bases = [ROOT / package_dir[top]]
    else:
        wheres = setuptools.get("packages", {}).get("find", {}).get("where", ["."])
        bases = [ROOT / where / top for where in wheres]
    for base in bases:
        target = base.joinpath(*rest)
        for candidate in (target.with_suffix(".py") if rest else None, target / "__init__.py"):
            if candidate is not None and candidate.is_file():
                return candidate
    return None


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text())


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def resolved(compose, example_env) -> dict:
    """The compose file as Compose sees it with docker/.env = .env.example plus the secrets."""
    return interpolate(compose, {**example_env, **FILLED_SECRETS})


@pytest.fixture(scope="module")
def stages() -> list[list[tuple[str, str]]]:
    return dockerfile_stages(DOCKERFILE.read_text())


def schema_errors(schema: dict, document: dict) -> list[str]:
    # The schema declares draft-07 by an address jsonschema does not list ("...draft-07/schema").
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.path)))
    ]


# --- the Compose specification -------------------------------------------------------------------------


def test_vendored_schema_is_the_recorded_compose_spec(schema):
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256, (
        "tests/schemas/compose-spec.json changed: record its source and sha256 in tests/schemas/README.md"
    )
    assert schema["title"] == "Compose Specification"
    assert "services" in schema["properties"]


def test_compose_file_matches_the_compose_spec(schema, compose):
    assert schema_errors(schema, compose) == []


def test_interpolated_compose_file_matches_the_compose_spec(schema, resolved):
    assert schema_errors(schema, resolved) == []


@pytest.mark.parametrize("breakage", ["unquoted restart no", "misspelt healthcheck key", "bad condition"])
def test_schema_catches_mistakes(schema, compose, breakage):
    broken = copy.deepcopy(compose)
    if breakage == "unquoted restart no":
        broken["services"]["migrate"]["restart"] = yaml.safe_load("restart: no")["restart"]  # False
    elif breakage == "misspelt healthcheck key":
        broken["services"]["web"]["healthcheck"]["intervall"] = "10s"
    else:
        broken["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_completed"
    assert schema_errors(schema, broken)


# --- services, health and start-up order -----------------------------------------------------------------


def test_services(services):
    assert set(services) == {"postgres", "redis", *APP_SERVICES}


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_has_a_healthcheck_and_restarts(services, name):
    service = services[name]
    healthcheck = service.get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable")
    test = healthcheck["test"]
    assert isinstance(test, list) and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, test
    for key in ("interval", "timeout", "retries"):
        assert key in healthcheck, f"{name} healthcheck lacks {key}"
    assert service.get("restart") in ("always", "unless-stopped", "on-failure"), name


@pytest.mark.parametrize("name", ("web", "worker", "worker-ingest"))
def test_app_services_wait_for_healthy_backends_and_migrations(services, name):
    assert services[name]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }


def test_migrate_runs_once_after_postgres(services):
    migrate = services["migrate"]
    assert migrate["restart"] == "no"
    assert "healthcheck" not in migrate
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert "migrate" not in migrate["depends_on"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert (ROOT / "manage.py").is_file()


def test_postgres_has_pgvector_and_a_persistent_volume(services):
    postgres = services["postgres"]
    match = re.fullmatch(r"pgvector/pgvector:pg(\d+)(?:[.-].*)?", postgres["image"])
    assert match, f"{postgres['image']} is not a pgvector image"
    major = int(match.group(1))
    assert major >= 17
    # The official image keeps PGDATA in a version-specific folder below /var/lib/postgresql
    # from PostgreSQL 18 on; before that the volume goes on /var/lib/postgresql/data.
    expected_mount = "/var/lib/postgresql/data" if major < 18 else "/var/lib/postgresql"
    assert f"pgdata:{expected_mount}" in postgres["volumes"]
    assert "pg_isready" in postgres["healthcheck"]["test"][-1]
    assert "ports" not in postgres


def test_redis_persists_with_append_only_file(services):
    redis = services["redis"]
    assert re.fullmatch(r"(redis:7(\.\d+)*|valkey/valkey:\d+(\.\d+)*)(-alpine)?", redis["image"])
    assert " ".join(redis["command"]).find("--appendonly yes") >= 0
    assert "redisdata:/data" in redis["volumes"]
    assert re.search(r"(redis|valkey)-cli ping", " ".join(redis["healthcheck"]["test"]))
    assert "ports" not in redis


def test_named_volumes_are_declared_and_mounted(compose, services):
    declared = set(compose["volumes"])
    assert {"pgdata", "redisdata", "switchboard-data"} <= declared
    used = set()
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~")):
                assert source in declared, f"{name} mounts undeclared volume {source}"
                used.add(source)
    assert used == declared


def test_data_volume_is_the_data_dir(resolved):
    for name in ("web", "worker", "worker-ingest"):
        service = resolved["services"][name]
        data_dir = service["environment"]["SWITCHBOARD_DATA_DIR"]
        assert f"switchboard-data:{data_dir}" in service["volumes"], name


def test_backends_are_not_reachable_from_outside(compose, services):
    internal = {
        name for name, network in (compose.get("networks") or {}).items() if network and network.get("internal")
    }
    for name in ("postgres", "redis"):
        assert set(services[name]["networks"]) <= internal, f"{name} is on a non-internal network"
    for name in ("web", "worker", "worker-ingest"):
        networks = set(services[name]["networks"])
        assert networks & internal, f"{name} cannot reach the backends"
        assert networks - internal, f"{name} has no outbound network (LLM providers, actions)"


# --- one image for web, workers and migrations ----------------------------------------------------------


def test_app_services_share_one_image_and_build(services):
    first = services[APP_SERVICES[0]]
    assert first.get("image") and first.get("build")
    for name in APP_SERVICES[1:]:
        assert services[name].get("image") == first["image"], name
        assert services[name].get("build") == first["build"], name


def test_build_uses_the_repository_root_and_the_dockerfile(services):
    build = services["web"]["build"]
    context = (COMPOSE_FILE.parent / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).resolve() == DOCKERFILE.resolve()
    assert DOCKERFILE.is_file()
    # BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile.
    assert DOCKERIGNORE.name == Path(build["dockerfile"]).name + ".dockerignore"


# --- commands -----------------------------------------------------------------------------------------


def test_web_command_serves_the_asgi_app_on_the_published_port(services, stages):
    web = services["web"]
    command = web.get("command") or json.loads(dict(stages[-1])["CMD"])
    assert command[:2] == ["uvicorn", "switchboard.asgi:application"], command
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = command[command.index("--port") + 1]
    assert "--proxy-headers" in command
    assert web["ports"] == [f"8000:{port}"]
    asgi = module_file("switchboard.asgi")
    assert asgi is not None, "switchboard.asgi (platform/switchboard/asgi.py) is missing"
    assert re.search(r"^application\s*=", asgi.read_text(), re.MULTILINE)


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def _celery_app_exists(name: str) -> bool:
    """`celery -A NAME` finds NAME.app / NAME.celery, or the NAME.celery module."""
    package = module_file(name)
    if package is None:
        return False
    if module_file(f"{name}.celery") is not None:
        return True
    binding = r"^(app|celery)\s*=|^from\s+\S+\s+import\s+.*\b(app|celery)\b"
    return bool(re.search(binding, package.read_text(), re.MULTILINE))


def _settings_queues() -> set[str]:
    settings_dir = module_file("switchboard.settings")
    queues = set(QUEUES)
    if settings_dir is not None:
        for path in settings_dir.parent.glob("*.py"):
            text = path.read_text()
            queues |= set(re.findall(r"""["']queue["']\s*:\s*["'](\w+)["']""", text))
            queues |= set(re.findall(r"""CELERY_TASK_DEFAULT_QUEUE\s*=\s*["'](\w+)["']""", text))
    return queues


def test_workers_consume_every_queue_and_ingest_runs_alone(services):
    consumed = {}
    for name in ("worker", "worker-ingest"):
        command = services[name]["command"]
        assert command[:4] == ["celery", "-A", "switchboard", "worker"], command
        consumed[name] = set(_option(command, "--queues").split(","))
    assert consumed["worker"] == {"chat", "tools", "default"}
    assert consumed["worker-ingest"] == {"ingest"}
    assert _settings_queues() <= consumed["worker"] | consumed["worker-ingest"]
    assert _celery_app_exists("switchboard"), "`celery -A switchboard` finds no Celery app"


@pytest.mark.parametrize("name", ("worker", "worker-ingest"))
def test_worker_healthcheck_pings_its_own_node(services, name):
    service = services[name]
    node = _option(service["command"], "--hostname")
    assert node.endswith("@%h"), node
    check = " ".join(service["healthcheck"]["test"][1:])
    assert "celery -A switchboard inspect ping" in check
    # $$ is Compose's escape: the container's shell expands $HOSTNAME, which is what %h is.
    assert f"{node.removesuffix('@%h')}@$$HOSTNAME" in check


def test_worker_concurrency_and_pool_follow_the_settings_variables(resolved):
    for name, variable in (
        ("worker", "SWITCHBOARD_WORKER_CONCURRENCY"),
        ("worker-ingest", "SWITCHBOARD_INGEST_WORKER_CONCURRENCY"),
    ):
        service = resolved["services"][name]
        concurrency = _option(service["command"], "--concurrency")
        assert concurrency == service["environment"][variable]
        assert int(concurrency) >= 1
    chat, ingest = resolved["services"]["worker"], resolved["services"]["worker-ingest"]
    # Chat turns wait on the network (green threads); ingestion uses the CPU (processes).
    assert _option(chat["command"], "--pool") == chat["environment"]["SWITCHBOARD_WORKER_POOL"] == "gevent"
    assert _option(ingest["command"], "--pool") == "prefork"
    roles = {
        name: resolved["services"][name]["environment"].get("SWITCHBOARD_PROCESS_ROLE")
        for name in ("web", "worker", "worker-ingest")
    }
    assert roles == {"web": "web", "worker": "worker", "worker-ingest": "ingest-worker"}


def test_web_healthcheck_is_the_installed_script(services, stages):
    test = services["web"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    copies = [strip_flags(arguments).split() for keyword, arguments in stages[-1] if keyword == "COPY"]
    assert ["docker/healthcheck.py", f"/usr/local/bin/{test[1]}"] in copies


# --- variables and secrets ------------------------------------------------------------------------------


def test_every_compose_variable_is_in_env_example(compose, example_env):
    documented = set(example_env)
    missing = sorted(set(referenced_variables(compose)) - documented)
    assert missing == [], f"not in docker/.env.example: {missing}"


def test_deployment_variables_are_documented():
    text = ENV_EXAMPLE.read_text()
    assert [name for name in DOCUMENTED_VARIABLES if name not in text] == []
    assert "Fernet.generate_key()" in text


def test_required_secrets_fail_loudly_and_have_no_example_value(compose, example_env):
    required = {name for name, op in referenced_variables(compose).items() if op == ":?"}
    assert {"POSTGRES_PASSWORD", "SWITCHBOARD_SECRET_KEY", "SWITCHBOARD_ENCRYPTION_KEYS"} <= required
    for name in required:
        assert example_env[name] == "", f".env.example must leave {name} empty"
    with pytest.raises(MissingVariable, match=r"POSTGRES_PASSWORD .*docker/\.env"):
        interpolate(compose, example_env)
    for name in required:
        env = {**example_env, **FILLED_SECRETS}
        del env[name]
        with pytest.raises(MissingVariable, match=name):
            interpolate(compose, env)


def test_no_secret_is_written_into_the_compose_file(services):
    secret_like = re.compile(r"SECRET|PASSWORD|_KEY(S)?$|TOKEN")
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if secret_like.search(key):
                assert re.fullmatch(r"\$\{\w+(:\?[^}]*|:-|)\}", value), f"{name}.{key} = {value!r}"
    database_url = services["web"]["environment"]["DATABASE_URL"]
    password = r"\$\{POSTGRES_PASSWORD:\?[^}]*\}"
    assert re.fullmatch(rf"postgres://\$\{{[^}}]*\}}:{password}@[^$]*\$\{{[^}}]*\}}", database_url), database_url


def test_connection_urls_point_at_the_compose_services(resolved):
    postgres_env = resolved["services"]["postgres"]["environment"]
    for name in APP_SERVICES:
        env = resolved["services"][name]["environment"]
        database = urlsplit(env["DATABASE_URL"])
        assert (database.scheme, database.hostname, database.port) == ("postgres", "postgres", 5432)
        assert database.username == postgres_env["POSTGRES_USER"]
        assert database.password == postgres_env["POSTGRES_PASSWORD"] == FILLED_SECRETS["POSTGRES_PASSWORD"]
        assert database.path == "/" + postgres_env["POSTGRES_DB"]
        redis = urlsplit(env["REDIS_URL"])
        assert (redis.scheme, redis.hostname) == ("redis", "redis")


def test_settings_variables_reach_every_app_container(resolved):
    settings_dir = ROOT / "platform" / "switchboard" / "settings"
    read = set(DOCUMENTED_VARIABLES)
    for path in settings_dir.glob("*.py"):
        if path.name != "test.py":
            read |= set(re.findall(r"""env_\w+\(\s*["']([A-Z][A-Z0-9_]+)["']""", path.read_text()))
    for name in APP_SERVICES:
        missing = sorted(read - set(resolved["services"][name]["environment"]))
        assert missing == [], f"{name} does not get {missing}"


# --- the Dockerfile ----------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_on_python_slim(stages):
    requires = pyproject()["project"]["requires-python"]
    minor = re.search(r">=\s*3\.(\d+)", requires).group(1)
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1].split()[0]
        assert image == f"python:3.{minor}-slim", image


def test_final_stage_runs_unprivileged_with_python_env(stages):
    final = stages[-1]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    env = " ".join(arguments for keyword, arguments in final if keyword == "ENV")
    assert re.search(r"\bPYTHONDONTWRITEBYTECODE=1\b", env)
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env)
    assert ("EXPOSE", "8000") in final
    assert json.loads(dict(final)["CMD"])  # exec form


def test_dockerfile_installs_the_lock_file_then_the_project(stages):
    runs = [arguments for stage in stages for keyword, arguments in stage if keyword == "RUN"]
    assert any(re.search(r"pip install .*-r \S*requirements\.lock", run) for run in runs)
    project_install = [run for run in runs if re.search(r"pip install --no-deps\b", run)]
    assert project_install, "the project is not installed with --no-deps"
    settings = module_file("switchboard.settings")
    base = settings.parent / "base.py" if settings else None
    if base and base.is_file() and re.search(r"BASE_DIR\s*=.*__file__", base.read_text()):
        # BASE_DIR (templates/, staticfiles/) is derived from the settings module's location,
        # so the code must run from the source tree: an editable install.
        assert any(re.search(r"--editable|\s-e\s", run) for run in project_install)


def test_collectstatic_runs_at_build_time_without_a_database(stages):
    runs = [arguments for keyword, arguments in stages[-1] if keyword == "RUN"]
    collect = [run for run in runs if "collectstatic" in run]
    assert collect and "--noinput" in collect[0]
    assert "SWITCHBOARD_SECRET_KEY=build-only" in collect[0]
    assert "DATABASE_URL" not in collect[0]
    # Before USER: the collected files go into the root-owned source tree.
    position = {arguments: index for index, (_, arguments) in enumerate(stages[-1])}
    user = next(index for index, (keyword, _) in enumerate(stages[-1]) if keyword == "USER")
    assert position[collect[0]] < user


def test_dockerfile_copies_only_files_that_exist_and_reach_the_context(stages):
    rules = ignore_rules(DOCKERIGNORE)
    for stage in stages:
        for keyword, arguments in stage:
            if keyword not in ("COPY", "ADD") or "--from=" in arguments:
                continue
            *sources, _destination = strip_flags(arguments).split()
            for source in sources:
                if source in (".", "./"):
                    continue
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not excluded_from_context(source, rules), f"COPY {source}: excluded from the context"


@pytest.mark.parametrize(
    "path",
    [
        "manage.py",
        "pyproject.toml",
        "requirements.lock",
        "platform/switchboard/asgi.py",
        "platform/switchboard/settings/base.py",
        "bots/__init__.py",
        "actions/__init__.py",
        "templates/base.html",
        "templates/static/app.css",
        "docker/healthcheck.py",
    ],
)
def test_build_context_includes(path):
    assert not excluded_from_context(path, ignore_rules(DOCKERIGNORE))


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        "docker/.env",
        "docker/.env.example",
        ".venv/bin/python",
        ".git/config",
        ".data/secret_key",
        "tests/test_docker_compose.py",
        "docker/compose.yaml",
        "platform/switchboard/__pycache__/x.pyc",
        "staticfiles/admin/base.css",
    ],
)
def test_build_context_excludes(path):
    assert excluded_from_context(path, ignore_rules(DOCKERIGNORE))


# --- the web health check script ------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    seen_hosts: ClassVar[list[str]] = []

    def do_GET(self):
        self.seen_hosts.append(self.headers["Host"])
        responses = {
            "/ok": (200, None),
            "/down": (503, None),
            "/https": (301, "https://example.com/https"),
            "/login": (302, "/accounts/login/"),
        }
        status, location = responses.get(self.path, (404, None))
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.seen_hosts = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run_healthcheck(url: str, allowed_hosts: str) -> int:
    result = subprocess.run(
        [sys.executable, str(HEALTHCHECK_SCRIPT), url],
        check=False,
        capture_output=True,
        text=True,
        env={"SWITCHBOARD_ALLOWED_HOSTS": allowed_hosts},
        timeout=30,
    )
    return result.returncode


@pytest.mark.parametrize(
    ("path", "healthy"), [("/ok", True), ("/down", False), ("/https", True), ("/login", False), ("/missing", False)]
)
def test_healthcheck_script_exit_status(http_server, path, healthy):
    assert (_run_healthcheck(http_server + path, "chat.example.com") == 0) is healthy
    assert _Handler.seen_hosts == ["chat.example.com"]


def test_healthcheck_script_fails_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert _run_healthcheck(f"http://127.0.0.1:{port}/ok", "localhost") == 1


def test_healthcheck_host_header_follows_allowed_hosts():
    spec = importlib.util.spec_from_file_location("switchboard_healthcheck", HEALTHCHECK_SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.host_header(".example.com,localhost") == "example.com"
    assert script.host_header("*") == "localhost"
    assert script.host_header(" chat.example.com , *") == "chat.example.com"
    assert script.host_header(None) == "localhost"
    assert script.DEFAULT_URL == "http://127.0.0.1:8000/healthz/live"
