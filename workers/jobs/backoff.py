"""Jittered exponential back-off: starts small (tens of ms), doubles, is capped, resets on success.

"Equal jitter": the n-th delay is drawn from [d/2, d] with d = min(cap, initial * factor**n), so two
workers hit by the same outage do not retry in lock-step, and every delay is at least half the nominal.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, initial_s: float = 0.025, max_s: float = 5.0, factor: float = 2.0,
                 rng: random.Random | None = None) -> None:  # fmt: skip
        if initial_s <= 0 or max_s < initial_s or factor < 1:
            raise ValueError("back-off needs 0 < initial <= max and factor >= 1")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self._rng = rng or random.Random()
        self.attempt = 0

    def nominal(self) -> float:
        """The upper bound of the next delay."""
        return min(self.max_s, self.initial_s * self.factor ** min(self.attempt, 64))

    def next(self) -> float:
        """The next delay; ``attempt`` counts the failures since the last reset."""
        nominal = self.nominal()
        self.attempt += 1
        return nominal / 2 + self._rng.random() * nominal / 2

    def reset(self) -> None:
        self.attempt = 0
