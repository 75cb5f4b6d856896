"""Crash-injection points for the crash-safety tests.

``PHOTOSIM_CRASH_AT=<name>`` makes the process kill itself with SIGKILL when it reaches the named
point, the way a power cut or an OOM kill would. Unset (always, for users) it costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "PHOTOSIM_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
