"""platform/ is an import root: the standard library's `platform` module must stay reachable."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_platform_folder_is_not_a_package():
    assert (ROOT / "platform").is_dir()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_stdlib_platform_module_works_from_the_repository_root():
    # The repository root first on sys.path, as when running `python manage.py` or `python -m ...`.
    code = "import platform, uuid; print(platform.system()); print(uuid.uuid4().version)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == [__import__("platform").system(), "4"]


def test_platform_apps_import_alongside_the_stdlib_module():
    code = (
        "import platform, switchboard, accounts, network, providers, knowledge, bots, actions;"
        "print(platform.system(), switchboard.__file__)"
    )
    env = {"PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    system, path = result.stdout.split()
    assert system == __import__("platform").system()
    assert path.endswith("platform/switchboard/__init__.py")


def test_manage_py_runs_without_pythonpath():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SWITCHBOARD_DATA_DIR": str(ROOT / ".data" / "test")},
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def _quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```", 2)[1]
    return [line.strip() for line in block.strip().splitlines()]


def test_ci_runs_the_readme_test_command_and_it_checks_the_rules():
    start, test = _quick_start_commands()
    assert start.endswith("manage.py run")
    assert test == ".ci/test"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec .ci/test" in ci
    script = (ROOT / ".ci" / "test").read_text()
    for rule in ("ruff check", "ruff format --check", "lint-imports", "mypy", "pytest"):
        assert f".venv/bin/{rule}" in script or f"-m {rule}" in script, rule


def test_no_binary_files_are_committed_outside_test_fixtures():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    binary = []
    for name in files:
        if name.startswith(("tests/fixtures/", "tests/schemas/")):
            continue
        path = ROOT / name
        if path.is_file() and b"\0" in path.read_bytes()[:8192]:
            binary.append(name)
    assert binary == []
    assert not [name for name in files if name.endswith((".whl", ".tar.gz", ".zip", ".pyc"))]
