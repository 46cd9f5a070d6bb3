"""What the user sees while a run works: one line per finished trial and, on a terminal, a live
bar with elapsed and remaining time against --time-limit, the current stage, trials done and
the best score so far. Plain lines when the output is not a terminal (logs, CI); nothing but
the final summary with --quiet."""

from __future__ import annotations

import sys
import time

import click

from .search.trial import TrialState


def fmt_value(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# One wording of a trial for every place that prints one: the live log, `leaderboard`, and the
# leaderboard after a run.


def trial_result(record) -> str:
    """'mean ± std' of a completed trial's fold scores, else its state and why."""
    if record.state == TrialState.COMPLETE:
        return f"{record.score:.5f} ± {record.score_std:.5f}"
    state = "failed" if record.state == TrialState.FAIL else str(record.state).lower()
    return f"{state} ({record.fail_reason})" if record.fail_reason else state


def params_text(params: dict) -> str:
    return " ".join(f"{k}={fmt_value(v)}" for k, v in params.items())


def trial_name(record) -> str:
    return f"{record.model:>4} trial {record.number:>3}"


class RunProgress:
    def __init__(self, budget: float, started: float, *, quiet: bool = False, live=None):
        self.budget = budget
        self.started = started
        self.quiet = quiet
        self.best = None
        self.done = 0
        self.stage_text = "starting"
        self._bar = None
        live = sys.stdout.isatty() if live is None else live
        if live and not quiet:
            self._start_bar()

    def _start_bar(self):
        from rich.progress import BarColumn
        from rich.progress import Progress
        from rich.progress import TextColumn

        owner = self

        class _ClockProgress(Progress):
            def get_renderables(self):  # the bar follows the wall clock, not trial counts
                for task in self.tasks:
                    task.completed = min(owner.elapsed(), owner.budget)
                    task.fields["clock"] = owner.clock()
                yield from super().get_renderables()

        self._bar = _ClockProgress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[clock]}"),
            transient=True,
            refresh_per_second=2,
        )
        self._task = self._bar.add_task(self._description(), total=self.budget, clock="")
        self._bar.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _description(self) -> str:
        best = "-"
        if self.best is not None:
            best = f"{self.best.score:.5f} ({self.best.model} #{self.best.number})"
        return f"{self.stage_text} | {self.done} trials | best {best}"

    def clock(self) -> str:
        elapsed = self.elapsed()
        left = max(0.0, self.budget - elapsed)
        return f"{elapsed:.0f}s / {self.budget:.0f}s, {left:.0f}s left"

    def _refresh(self):
        if self._bar is not None:
            self._bar.update(self._task, description=self._description())

    def echo(self, text: str):
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text)

    def stage(self, text: str):
        self.stage_text = text
        self._refresh()

    def trial(self, record):
        self.done += 1
        complete = record.state == TrialState.COMPLETE
        if complete and (self.best is None or record.loss < self.best.loss):
            self.best = record
        best = "-"
        if self.best is not None:
            best = f"{self.best.score:.5f} ({self.best.model} #{self.best.number})"
        self.echo(
            f"{trial_name(record)} | {trial_result(record)} | best {best} | "
            f"{self.elapsed():.0f}/{self.budget:.0f}s | {params_text(record.params)}"
        )
        self._refresh()

    def close(self):
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
