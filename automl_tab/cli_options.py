"""What the command modules share: error handling, the folder options and loading a folder.

Kept apart from cli.py so that cli_bench.py (the benchmark commands) needs nothing from it.
"""

from __future__ import annotations

import functools
import warnings

import click

from . import interrupt
from .exceptions import AutomlTabError


def fail_cleanly(func):
    """Run a command with Ctrl-C handled and an AutomlTabError turned into one line."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        warnings.filterwarnings("ignore")
        try:
            with interrupt.handling():
                return func(*args, **kwargs)
        except AutomlTabError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            interrupt.exit_now()  # the running trial is already marked failed

    return wrapper


def schema_options(func):
    """The options that override what is inferred about the folder."""
    for option in reversed(
        [
            click.option("--target", help="Target column (default: inferred)."),
            click.option("--id-column", help="Id column (default: first column of the sample)."),
            click.option(
                "--task",
                type=click.Choice(["binary", "multiclass", "regression"]),
                help="Task (default: inferred from the target).",
            ),
            click.option(
                "--metric",
                help="log_loss, accuracy, roc_auc, rmse, rmsle or mae "
                "(default: from competition.json, else by task).",
            ),
        ]
    ):
        func = option(func)
    return func


def load_comp(comp, target, id_column, task, metric):
    from .competition import load_competition

    return load_competition(comp, target=target, id_column=id_column, task=task, metric=metric)
