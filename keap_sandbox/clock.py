"""The sandbox clock: quotas, token expiry and log times read it instead of time.time()."""

import threading
import time


class SandboxClock:
    """A clock that follows real time (optionally shifted) or stays frozen until moved.

    Times are seconds since the Unix epoch as floats. Tests freeze the clock with `set()` and move
    it with `advance()`; `follow_real_time()` lets it run again.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._frozen_at: float | None = None
        self._offset = 0.0

    def now(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    @property
    def is_frozen(self) -> bool:
        return self._frozen_at is not None

    def set(self, epoch_seconds: float, *, frozen: bool = True) -> None:
        """Move the clock to `epoch_seconds`; it stays there when `frozen`, else runs on from it."""
        with self._lock:
            if frozen:
                self._frozen_at = float(epoch_seconds)
            else:
                self._frozen_at = None
                self._offset = float(epoch_seconds) - time.time()

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def follow_real_time(self, *, keep_offset: bool = False) -> None:
        """Let the clock run at real speed: from real time, or from now if `keep_offset`."""
        with self._lock:
            if keep_offset and self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
            elif not keep_offset:
                self._offset = 0.0
            self._frozen_at = None

    def describe(self) -> dict:
        now = self.now()
        return {"now": now, "now_ms": int(now * 1000), "frozen": self.is_frozen}
