"""How the time of a run is spent: the one owner of the clock, the reserves, the families'
shares, the per-trial caps and the fold deadlines.

A run's `--time-limit` counts from the command's start. Its parts, in order:

1. setup: loading, schema, preprocessing of the first fold, starting the fold workers and the
   probe fits that measure what one fit of each family costs (see plan.py);
2. the search, shared by the model families in proportion to their shares;
3. completing the best trials on the folds the search left out (a reserve the search leaves
   free: COMPLETION_SHARE of what is left when the search opens, or more when completing the
   best trial of each family the ensemble uses is expected to take longer);
4. the ensemble, the submission, the report and the exit (FINISH_SHARE of the limit, 8-45 s).

Everything here is arithmetic on a clock; nothing trains. The clock is injectable, so the
policy is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FINISH_SHARE = 0.05
FINISH_BOUNDS = (5.0, 45.0)  # measured: 3-4 s at 60 s (adult, otto), mostly the report
COMPLETION_SHARE = 0.15
# Completing a family's best trial is reserved for only while it takes at most this share of
# the time left when the search opened: one that needs more would take the search's time and
# then not fit anyway (otto at 60 s: completing LightGBM's default on four more folds needed
# 46 s of 27, and the run stopped searching at 25 s of 60).
COMPLETION_MAX = 0.5
# Completing a trial cut short by the clock is thrown away, so the reserve for it counts its
# expected time with a margin.
COMPLETION_MARGIN = 1.5
# No trial after a family's first may use more than this share of its family's search time:
# one huge network with a tiny learning rate would otherwise eat the run (titanic: 104 s of
# 120). A family's first trial is its known-good default, the baseline the ensemble can always
# fall back on: it may use all of its family's time, so it is never cut half-trained.
TRIAL_SHARE = 0.25
MIN_TRIAL_SECONDS = 10.0
# A family's next trial starts while at least this share of its median trial time is left
# before the search deadline; one cut short there keeps its best epoch (or round) so far.
# Asking for the whole median, network-only runs at 300 s stopped searching with a fifth to
# a third of the budget unused (house-prices at 229 s of 285, after trials of 69 s).
LAST_TRIAL_SHARE = 0.5
# The probe fits that measure each family's cost (before the search) may use this share of
# the time left; a fit that needs more is stopped at its best epoch so far, and the plan then
# knows that family is slow for this budget.
PROBE_SHARE = 0.3
# How far the shares follow the evidence: a family's share is (1 - EVIDENCE) x its initial
# share + EVIDENCE x its weight in the current ensemble. A family never drops below a quarter
# of its initial share (the networks: a tenth of the search beside LightGBM and the forests),
# so the networks always have real candidates.
EVIDENCE = 0.75


def finish_reserve(time_limit: float) -> float:
    """Time kept for the ensemble, the submission, the report and the exit."""
    low, high = FINISH_BOUNDS
    return min(max(low, FINISH_SHARE * time_limit), high)


def fold_deadlines(started: float, deadline: float | None, n_folds: int, workers: int) -> list:
    """The deadline of each of `n_folds` folds fitted `workers` at a time between `started`
    and `deadline`: each round of folds gets an equal part, plus what earlier rounds left."""
    if deadline is None:
        return [None] * n_folds
    rounds = -(-n_folds // max(1, workers))
    return [started + (deadline - started) * (j // workers + 1) / rounds for j in range(n_folds)]


class Budget:
    """The run's clock and how its time is shared. Times are `clock()` seconds (monotonic).

    Args:
        time_limit: seconds for the whole command.
        started: when the command started (default: now).
        clock: the time source (tests pass a fake one).
    """

    def __init__(
        self, time_limit: float, started: float | None = None, *, clock: Callable = time.monotonic
    ):
        self.time_limit = float(time_limit)
        self.clock = clock
        self.started = clock() if started is None else float(started)
        self.finish_reserve = finish_reserve(self.time_limit)
        # Search and completion end here; what is left is the finish reserve.
        self.end = self.started + self.time_limit - self.finish_reserve
        self.shares: dict[str, float] = {}
        self.initial_shares: dict[str, float] = {}
        self.used: dict[str, float] = {}
        self.completion: dict[str, float] = {}
        self.evidence: dict[str, float] = {}  # the families' weights in the current ensemble
        self.completes = False
        self.completion_floor = 0.0
        self.search_seconds = 0.0
        self.window = 0.0  # seconds left when the search opened

    def left(self) -> float:
        """Seconds until the search and completion must be over."""
        return self.end - self.clock()

    def probe_deadline(self) -> float:
        """When a probe fit started now must stop (see PROBE_SHARE)."""
        return self.clock() + PROBE_SHARE * max(0.0, self.left())

    def search_estimate(self) -> float:
        """The search's seconds if it opened now with a completion reserve (for the plan)."""
        return (1.0 - COMPLETION_SHARE) * max(0.0, self.left())

    def open_search(self, shares: dict[str, float], *, completes: bool) -> None:
        """Start the search: the families and their shares, and whether the best trials will
        be completed on more folds afterwards (which needs a reserve)."""
        self.shares = {f: float(s) for f, s in shares.items()}
        total = sum(self.shares.values()) or 1.0
        self.initial_shares = {f: s / total for f, s in self.shares.items()}
        self.used = {f: 0.0 for f in shares}
        self.completes = completes
        self.window = max(0.0, self.left())
        self.completion_floor = COMPLETION_SHARE * self.window if completes else 0.0
        self.search_seconds = max(0.0, self.window - self.completion_floor)

    # --- the reserve for completing the best trials ---------------------------------------

    def expect_completion(self, family: str, seconds: float) -> None:
        """The expected time to complete `family`'s best trial, re-estimated after each trial
        (not reserved when it is beyond COMPLETION_MAX of the search's window)."""
        seconds = max(0.0, float(seconds))
        self.completion[family] = seconds if seconds <= COMPLETION_MAX * self.window else 0.0

    def completion_fits(self, seconds: float) -> bool:
        """Whether a completion expected to take `seconds` may start now."""
        return self.clock() + seconds <= self.end

    def carries(self, family: str) -> bool:
        """Whether the current ensemble of the families' best trials gives `family` weight
        (true for all until every family has a trial)."""
        return not self.evidence or self.evidence.get(family, 0.0) > 0

    def completion_reserve(self) -> float:
        """Seconds kept for completing the best trials: nothing beyond the floor for a family
        the ensemble does not use, and at most COMPLETION_MAX of the search's window in all
        (completion then goes best first while it fits). At 120 s on adult, completing
        ExtraTrees' best (one fold of 7.5 s, four to go) held 45 s the ensemble never used
        and the search stopped at 55 s; on otto the three families' reserves (41 + 30 + 11 s
        of an 84 s window) stopped it at 31 s, after one LightGBM trial."""
        if not self.completes:
            return 0.0
        needed = sum(s for f, s in self.completion.items() if self.carries(f))
        return max(self.completion_floor, min(needed, COMPLETION_MAX * self.window))

    def end_completion(self) -> None:
        """Completion is over: the search may run to the end, with no reserve for it."""
        self.completes = False

    def search_deadline(self) -> float:
        return self.end - self.completion_reserve()

    def search_left(self) -> float:
        return self.search_deadline() - self.clock()

    # --- sharing the search between families ----------------------------------------------

    def family_seconds(self, family: str) -> float:
        total = sum(self.shares.values()) or 1.0
        return self.search_seconds * self.shares.get(family, 0.0) / total

    def next_family(self, families: list[str], typical: dict[str, float] | None = None) -> str:
        """The family furthest behind its share (ties: the first listed), among those whose
        share has at least LAST_TRIAL_SHARE of their `typical` trial's seconds left (all of
        them when none has). Without that, one trial far longer than its family's share took
        the share of the others: at 60 s on adult the networks' share was 3 s after the
        ensemble gave them no weight, yet their second trial ran 11 s (of a 34 s search)."""
        typical = typical or {}
        room = [
            f
            for f in families
            if self.family_seconds(f) - self.used.get(f, 0.0)
            >= LAST_TRIAL_SHARE * typical.get(f, 0.0)
        ]
        return min(room or families, key=lambda f: self.used.get(f, 0.0) / self.shares.get(f, 1.0))

    def trial_deadline(self, family: str, *, first: bool) -> float:
        """When a trial of `family` starting now must stop (see TRIAL_SHARE)."""
        share = 1.0 if first else TRIAL_SHARE
        cap = max(MIN_TRIAL_SECONDS, share * self.family_seconds(family))
        return min(self.search_deadline(), self.clock() + cap)

    def trial_fits(self, typical_seconds: float) -> bool:
        """Whether a trial of a family whose trials take `typical_seconds` (0 before the
        first) may start now (see LAST_TRIAL_SHARE)."""
        left = self.search_left()
        return left > 0 and LAST_TRIAL_SHARE * typical_seconds <= left

    def charge(self, family: str, seconds: float) -> None:
        self.used[family] = self.used.get(family, 0.0) + float(seconds)

    def follow_evidence(self, weights: dict[str, float]) -> None:
        """Re-share the search after the families' weights in the current ensemble."""
        families = list(self.shares)
        total = sum(weights.get(f, 0.0) for f in families)
        if len(families) < 2 or total <= 0:
            return
        self.evidence = {f: weights.get(f, 0.0) / total for f in families}
        initial = self.initial_shares
        self.shares = {
            f: (1.0 - EVIDENCE) * initial[f] + EVIDENCE * weights.get(f, 0.0) / total
            for f in families
        }
