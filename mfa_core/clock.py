"""The clock: a callable returning the current time in seconds since the Unix epoch."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]

system_clock: Clock = time.time
