"""The run plan: how trials are validated and how the search time is shared, decided from the
data, the budget and what one fit of each family was measured to cost, before the first trial.

Validation. All families share one seeded list of folds (a 5-fold, repeated once when more
folds are wanted); each family scores its trials on a prefix of it, and its best trials are
completed on the rest of their repetition so that every training row gets an out-of-fold
prediction for the ensemble. How many folds a family's trials use:

- enough validation rows that the best of many trials is not a lucky draw: about
  WANTED_VALID_ROWS over the folds, so small data gets every fold, twice (repeated 5-fold),
  and large data a single hold-out fold, as FLAML's CV/hold-out rule does;
- no more than the budget affords: the family must still get its `target_trials` trials in
  its share of the search (measured cost of one trial on k folds: a one-off setup, such as
  tracing a network, plus one fit per round of folds trained side by side);
- folds that cost (almost) nothing extra are always taken: when a trial's cost is mostly its
  setup, or when two folds train side by side in the time of one.

Everything here is arithmetic; the probe fits are made by the pipeline (pipeline.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace

from .budget import MIN_TRIAL_SECONDS
from .exceptions import ConfigError
from .splits import n_folds

REPEATS = 2  # the shared fold list: the K-fold, repeated this often for small data
FOLD_CHOICES = (10, 5, 4, 3, 2, 1)  # search folds a family may get, most first
WANTED_VALID_ROWS = 10_000
# A trial whose folds cost at most this much more than one fold is cheap at any fold count.
CHEAP_EXTRA = 1.5
# A network should reach this many epochs in a trial's time, or as many as the probe's fit
# ran if more (small data needs more epochs: titanic's default ran ~170): the plan caps its
# size to that.
EPOCHS_WANTED = 30


@dataclass(frozen=True)
class FamilyCost:
    """What one trial of a family costs, from its probe fit (seconds).

    setup_seconds: once per trial and worker (tracing a new network shape);
    fold_seconds: training and predicting one fold after that;
    workers: folds fitted side by side;
    target_trials: trials (at the default's cost) the family should afford in its share;
    converged: whether the probe fit stopped by itself rather than at its time cap;
    work_rate: for networks, weights x members x rows trained per second (None for others);
    epochs: the epochs (boosting rounds) the probe's fits ran before they stopped (median;
    a lower bound when the probe was cut by its deadline);
    rounds_follow_rate: whether the family's rounds grow about as 1 / its learning rate
    (LightGBM), so that the plan can bound its slowdown (see slowdown_limit).
    """

    setup_seconds: float
    fold_seconds: float
    workers: int = 1
    target_trials: float = 10.0
    converged: bool = True
    work_rate: float | None = None
    epochs: float | None = None
    rounds_follow_rate: bool = False  # boosting: rounds grow as the learning rate shrinks

    def trial_seconds(self, n_folds: int) -> float:
        return self.setup_seconds + math.ceil(n_folds / max(1, self.workers)) * self.fold_seconds


@dataclass(frozen=True)
class RunPlan:
    """folds: search folds per family; per_repeat: folds in one repetition (K);
    total_folds: folds in the shared list; shares: the families' initial shares of the
    search; costs: the measured FamilyCosts (as dicts); source: "measured", "--n-splits" or
    "resumed"; limits: model options per family that the budget sets (a network's largest
    size, "max_work"), the same for every trial so that completing a trial repeats it."""

    folds: dict[str, int]
    per_repeat: int
    total_folds: int
    shares: dict[str, float]
    costs: dict[str, dict] = field(default_factory=dict)
    source: str = "measured"
    seed: int | None = None  # the folds' seed: another worker must draw the same folds
    limits: dict[str, dict] = field(default_factory=dict)

    def coverage(self, family: str) -> int:
        """Folds `family`'s best trials are completed to: whole repetitions."""
        return math.ceil(self.folds[family] / self.per_repeat) * self.per_repeat

    @property
    def completes(self) -> bool:
        """Whether some family's best trials need more folds after the search."""
        return any(self.coverage(f) > k for f, k in self.folds.items())

    def describe(self, family: str) -> str:
        k, per = self.folds[family], self.per_repeat
        if k == 1:
            return f"1 hold-out fold of {per}"
        if k < per:
            return f"{k} of {per} folds"
        if k == per:
            return f"{per}-fold CV"
        if k % per:
            return f"{k} folds of a repeated {per}-fold"
        return f"{per}-fold CV x{k // per}"

    def line(self, completion_seconds: float, finish_seconds: float) -> str:
        """The one line printed at the start of a run."""
        total = sum(self.shares.values()) or 1.0
        parts = []
        for family in self.folds:
            cost = self.costs.get(family)
            measured = ""
            if cost:
                setup = cost["setup_seconds"]
                measured = f", {cost['fold_seconds']:.2g} s a fit"
                measured += f" + {setup:.2g} s setup" if setup >= 0.05 else ""
            share = 100 * self.shares.get(family, 0.0) / total
            parts.append(f"{family} on {self.describe(family)} ({share:.0f} %{measured})")
        reserve = (
            f"{completion_seconds:.0f} s to complete the best trials, " if self.completes else ""
        )
        return (
            f"plan ({self.source}): {'; '.join(parts)}; shares then follow the ensemble; "
            f"{reserve}{finish_seconds:.0f} s for the ensemble and report"
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, *, source: str | None = None) -> RunPlan:
        data = dict(data)
        if source is not None:
            data["source"] = source
        return cls(**data)


def wanted_folds(rows: int, per_repeat: int) -> int:
    """Folds whose validation rows add up to about WANTED_VALID_ROWS (at most two repeats)."""
    valid_rows = max(1.0, rows / per_repeat)
    need = math.ceil(WANTED_VALID_ROWS / valid_rows)
    fitting = [k for k in FOLD_CHOICES if k <= REPEATS * per_repeat]
    return min([k for k in fitting if k >= need], default=max(fitting))


def choose_folds(cost: FamilyCost, wanted: int, seconds: float) -> int:
    """The most folds, up to `wanted`, that still afford the family's target trials in
    `seconds`, or that cost little more than one fold; 1 when nothing else fits, or when the
    probe did not converge before its deadline (its cost is then only a lower bound)."""
    if not cost.converged:
        return 1
    one = cost.trial_seconds(1)
    for k in (k for k in FOLD_CHOICES if k <= wanted):
        trial = cost.trial_seconds(k)
        if trial * cost.target_trials <= seconds or trial <= CHEAP_EXTRA * one:
            return k
    return 1


def size_limit(cost: FamilyCost, n_folds: int, trial_seconds: float, fold_rows: int) -> dict:
    """The largest network (weights x members) that trains as many epochs as the probe's fit
    needed (at least EPOCHS_WANTED) on `fold_rows` rows in a trial of `trial_seconds` on
    `n_folds` folds, at the probe's pace; {} for a family without a measured pace. Without
    it, at 120 s the search's first random draws (ten layers, a first layer of 1,500 units)
    took 30 s each and were cut after two epochs; sized for 30 epochs where the default ran
    ~170 (titanic), a 60 s run's second network took its whole 10 s cap and was cut."""
    if not cost.work_rate:
        return {}
    fold_seconds = _fold_seconds(cost, n_folds, trial_seconds)
    epochs = max(EPOCHS_WANTED, cost.epochs or 0)
    return {"max_work": int(cost.work_rate * fold_seconds / (epochs * max(1, fold_rows)))}


def slowdown_limit(cost: FamilyCost, n_folds: int, trial_seconds: float) -> dict:
    """How many times the probe's rounds a fold of a trial can afford in the trial's time cap
    (at least MIN_TRIAL_SECONDS), for a family whose rounds follow its learning rate; the
    model turns it into a floor on the learning rate. {} for other families. Without it, at
    60 s on otto (6.3 s for the default's 207 rounds on one fold, 10 s a trial), a random
    draw at learning rate 0.0054 ran 13 s, was cut half-trained and scored 0.69 against the
    default's 0.49."""
    if not cost.rounds_follow_rate or not cost.epochs:
        return {}
    fold_seconds = _fold_seconds(cost, n_folds, max(MIN_TRIAL_SECONDS, trial_seconds))
    return {"max_slowdown": fold_seconds / cost.fold_seconds}


def _fold_seconds(cost: FamilyCost, n_folds: int, trial_seconds: float) -> float:
    """What one fold may train in a trial of `trial_seconds`: its round of folds' part (the
    family fits `cost.workers` side by side), less the set-up."""
    rounds = math.ceil(n_folds / max(1, cost.workers))
    return max(0.0, trial_seconds / rounds - cost.setup_seconds)


def decide_plan(
    rows: int,
    costs: dict[str, FamilyCost],
    search_seconds: float,
    *,
    per_repeat: int = 5,
    n_splits: int | None = None,
    n_trials: int | None = None,
    seed: int | None = None,
    trial_share: float = 1.0,
    base_shares: dict[str, float] | None = None,
) -> RunPlan:
    """The plan for `rows` training rows and these measured family costs, with
    `search_seconds` to share. `n_splits` (the user's --n-splits) fixes every family's
    folds; with `n_trials` (--n-trials) the trial count, not the clock, bounds the search, so
    the folds follow the data alone and the same seed gives the same run; otherwise the
    networks are sized to `trial_share` of their family's share (see size_limit).
    `base_shares` weighs the families' initial shares (1 each by default)."""
    families = list(costs)
    base = {f: float((base_shares or {}).get(f, 1.0)) for f in families}
    shares = {f: base[f] / sum(base.values()) for f in families}
    limits: dict[str, dict] = {}  # none with --n-trials: the data alone decides, as for folds
    if n_splits is not None:
        folds = {f: int(n_splits) for f in families}
        source = "--n-splits"
    elif n_trials is not None:
        folds = {f: wanted_folds(rows, per_repeat) for f in families}
        source = "data, --n-trials"
    else:
        wanted = wanted_folds(rows, per_repeat)
        folds = {f: choose_folds(costs[f], wanted, search_seconds * shares[f]) for f in families}
        source = "measured"
    if n_trials is None:  # the clock bounds the search: size the networks to it
        fold_rows = rows - rows // per_repeat
        trial = {f: search_seconds * shares[f] * trial_share for f in families}
        limits = {
            f: {
                **size_limit(costs[f], folds[f], trial[f], fold_rows),
                **slowdown_limit(costs[f], folds[f], trial[f]),
            }
            for f in families
        }
        limits = {f: limit for f, limit in limits.items() if limit}
    total = math.ceil(max(folds.values()) / per_repeat) * per_repeat
    return RunPlan(
        folds=folds,
        per_repeat=per_repeat,
        total_folds=total,
        shares=shares,
        costs={f: asdict(c) for f, c in costs.items()},
        source=source,
        seed=seed,
        limits=limits,
    )


def resumed_plan(stored: dict, families: list[str], cfg) -> RunPlan:
    """The stored plan, for these families (a family new to the run gets the most folds of
    the others); refused when the run's --seed, test_size or --n-splits (of RunConfig `cfg`)
    ask for other folds than its trials were scored on."""
    plan = RunPlan.from_dict(stored, source="resumed")
    if plan.seed is not None and plan.seed != cfg.seed:
        raise ConfigError(
            f"--seed is {cfg.seed}, but the trials of this study were scored on the folds of "
            f"--seed {plan.seed}; pass --seed {plan.seed} to join them, or another --workdir "
            "and --storage (or --fresh) to start over"
        )
    if plan.per_repeat != n_folds(cfg.test_size):
        raise ConfigError(
            f"test_size={cfg.test_size} makes {n_folds(cfg.test_size)} folds a repetition, but "
            f"the trials of this run were scored on {plan.per_repeat}; use the same test_size"
        )
    if cfg.n_splits is not None and set(plan.folds.values()) != {cfg.n_splits}:
        scored = ", ".join(f"{f} on {plan.describe(f)}" for f in plan.folds)
        raise ConfigError(
            f"--n-splits is {cfg.n_splits}, but the trials of this run were scored {scored}; "
            "leave --n-splits out to resume, or pass --fresh (or another --workdir) to start over"
        )
    most = max(plan.folds.values())
    folds = {f: plan.folds.get(f, most) for f in families}
    least = min(plan.shares.values(), default=1.0)  # a family new to the run: the least share
    shares = {f: plan.shares.get(f, least) for f in families}
    return replace(plan, folds=folds, shares=shares)
