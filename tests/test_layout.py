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
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "SWITCHBOARD_DATA_DIR": str(ROOT / ".data" / "test")})
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
