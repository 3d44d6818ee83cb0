"""`switchboard.settings` is the settings module of the platform (development and production).

`switchboard.settings.test` chooses its own data folder *before* importing the base settings,
which read the environment at import; importing them here first would fix the data folder before
the test settings could choose theirs, and the suite would share the developer's data folder.
"""

import os

if os.environ.get("DJANGO_SETTINGS_MODULE", "switchboard.settings") == "switchboard.settings":
    from switchboard.settings.base import *  # noqa: F403
