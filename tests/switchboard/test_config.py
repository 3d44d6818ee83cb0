"""Missing or malformed settings fail at start with a message naming the variable."""

import subprocess
import sys
from pathlib import Path

import pytest

from switchboard import config
from switchboard.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "reader, environ, message",
    [
        (
            lambda e: config.env_bool("SWITCHBOARD_DEBUG", False, environ=e),
            {"SWITCHBOARD_DEBUG": "maybe"},
            "SWITCHBOARD_DEBUG='maybe' is not valid",
        ),
        (
            lambda e: config.env_int("SWITCHBOARD_PORT", 8000, environ=e),
            {"SWITCHBOARD_PORT": "80a"},
            "SWITCHBOARD_PORT='80a' is not valid: expected an integer",
        ),
        (
            lambda e: config.env_int("SWITCHBOARD_PORT", 8000, environ=e, maximum=65535),
            {"SWITCHBOARD_PORT": "70000"},
            "SWITCHBOARD_PORT=70000 is too large",
        ),
        (
            lambda e: config.env_url("DATABASE_URL", schemes=("postgres",), environ=e),
            {"DATABASE_URL": "mysql://u:secret@h/db"},
            "DATABASE_URL must be a URL starting with postgres://",
        ),
        (
            lambda e: config.env_choice("SWITCHBOARD_LOG_FORMAT", "console", ("console", "json"), environ=e),
            {"SWITCHBOARD_LOG_FORMAT": "xml"},
            "expected one of console, json",
        ),
        (
            lambda e: config.env_str("SWITCHBOARD_SECRET_KEY", environ=e, required=True),
            {},
            "SWITCHBOARD_SECRET_KEY is required",
        ),
    ],
)
def test_reader_errors_name_the_variable(reader, environ, message):
    with pytest.raises(ConfigError) as excinfo:
        reader(environ)
    assert message in str(excinfo.value)


def test_url_errors_do_not_echo_credentials():
    with pytest.raises(ConfigError) as excinfo:
        config.env_url("DATABASE_URL", schemes=("postgres",), environ={"DATABASE_URL": "mysql://u:hunter2@h/db"})
    assert "hunter2" not in str(excinfo.value)


def test_unset_and_blank_values_take_the_default():
    assert config.env_int("X", 3, environ={}) == 3
    assert config.env_bool("X", True, environ={"X": "  "}) is True
    assert config.env_list("X", ["a"], environ={"X": "b, c ,"}) == ["b", "c"]


def run_manage_check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "SWITCHBOARD_DATA_DIR": str(ROOT / ".data" / "test"), **env_overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "variable, value",
    [
        ("DATABASE_URL", "mysql://user@localhost/db"),
        ("REDIS_URL", "memcached://localhost"),
        ("SWITCHBOARD_ENCRYPTION_KEYS", "not-a-fernet-key"),
        ("SWITCHBOARD_DEBUG", "perhaps"),
        ("SWITCHBOARD_WORKER_CONCURRENCY", "0"),
    ],
)
def test_platform_refuses_to_start_with_a_malformed_setting(variable, value):
    result = run_manage_check({variable: value})
    assert result.returncode != 0
    assert f"Configuration error: {variable}" in result.stderr
    assert "Traceback" not in result.stderr
