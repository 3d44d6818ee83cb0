#!/usr/bin/env python
"""Django's command-line utility. `python manage.py run` starts the whole platform."""

import os
import sys
from pathlib import Path


def main() -> None:
    # platform/ is an import root (not a package: it would shadow the standard library's
    # `platform`), so it goes on the path even when the project is not pip-installed.
    root = Path(__file__).resolve().parent
    for path in (root, root / "platform"):
        if str(path) not in sys.path:
            sys.path.insert(1, str(path))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
    from django.core.management import execute_from_command_line

    from switchboard.config import ConfigError

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        sys.exit(f"Configuration error: {exc}")


if __name__ == "__main__":
    main()
