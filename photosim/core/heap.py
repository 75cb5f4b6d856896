"""Keeping Python's cyclic garbage collector from pausing the window.

A full collection walks every object in the process: with Qt, numpy, PIL and the model loaded that is
about 240,000 objects and 140 ms here (more with torch or a cold cache), and it runs on whichever
thread happens to allocate, holding the GIL, so the event loop stops for as long. Almost all of those
objects are modules, classes and the model's tensors that live as long as the process. Freezing them
(:func:`gc.freeze`) moves them out of the collector's reach, so later collections only walk what the
app allocated since: the same measurement after a freeze takes well under a millisecond.

Called after start-up (the window shown) and after a model loads (the biggest batch of long-lived
objects). Cyclic garbage alive at that moment is kept rather than freed; a few kilobytes, once per call.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_long_lived(reason: str) -> int:
    """Move every object tracked now into the permanent generation; returns how many there were."""
    started = time.perf_counter()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d long-lived objects after %s (%.1f ms)", frozen, reason, (time.perf_counter() - started) * 1e3)
    return frozen


__all__ = ["freeze_long_lived"]
