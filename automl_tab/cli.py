"""Command line: parse options, build a frozen RunConfig, call the pipeline, and turn domain
errors into one line and exit code 1. Heavy imports happen inside commands, so --help is fast."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .cli_bench import BENCH_COMMANDS
from .cli_options import fail_cleanly
from .cli_options import load_comp
from .cli_options import schema_options
from .config import BACKENDS
from .config import MODELS
from .config import RunConfig
from .exceptions import AutomlTabError

CLOCK_KEY = "automl_tab.started"


MEMORY_LIMIT = click.option(
    "--memory-limit",
    type=click.FloatRange(min=0.5),
    default=RunConfig.memory_limit,
    show_default=True,
    help="GiB the run may take (workers included); large data is then fitted with fewer "
    "one-hot columns, then on a seeded sample of its rows.",
)


def _search_options(func):
    for option in reversed(
        [
            click.option(
                "--time-limit",
                type=click.FloatRange(min=1),
                default=600,
                show_default=True,
                help="Wall-clock seconds for the whole command.",
            ),
            click.option(
                "--n-trials",
                type=click.IntRange(min=1),
                default=None,
                help="Total trials of the study (default: until the time limit).",
            ),
            click.option(
                "--backend",
                type=click.Choice(BACKENDS),
                default="optuna",
                show_default=True,
                help="optuna (TPE) or bayes_opt (Gaussian process).",
            ),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option(
                "--top-k",
                type=click.IntRange(min=1),
                default=5,
                show_default=True,
                help="Best trials of each model family offered to the greedy ensemble.",
            ),
            click.option(
                "--n-splits",
                type=click.IntRange(min=1),
                default=None,
                help="Folds (of a seeded, repeated 5-fold) each trial is scored on "
                "(default: the run plan chooses from the data, budget and measured costs).",
            ),
            click.option(
                "--init-points",
                type=click.IntRange(min=1),
                default=5,
                show_default=True,
                help="Random trials before the guided search.",
            ),
            MEMORY_LIMIT,
            click.option(
                "--workdir",
                type=click.Path(file_okay=False, path_type=Path),
                help="Run folder (default: submissions/<competition>).",
            ),
            click.option("--storage", help="Trial store URL (default: SQLite in the workdir)."),
            click.option("--fresh", is_flag=True, help="Forget earlier trials in the workdir."),
            click.option(
                "--quiet", is_flag=True, help="No progress bar or trial lines; results only."
            ),
        ]
    ):
        func = option(func)
    return func


class _OneLineErrors(click.Group):
    """A wrong option or a missing folder is one line (`Error: ...`), not click's usage block."""

    def main(self, *args, **kwargs):
        if kwargs.get("standalone_mode", True) is False:
            return super().main(*args, **kwargs)
        try:
            super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            hint = f" (see {exc.ctx.command_path} --help)" if exc.ctx else ""
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("aborted", err=True)
            sys.exit(1)
        sys.exit(0)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="automl-tab")
@click.pass_context
def main(ctx):
    """automl-tab: point it at a Kaggle competition folder, get a validated submission."""
    # --time-limit counts from here: the heavy imports and loading are inside the command. Not
    # at module import: a Python caller may run several commands in one process.
    ctx.meta[CLOCK_KEY] = time.monotonic()


def _started() -> float:
    return click.get_current_context().meta.get(CLOCK_KEY, time.monotonic())


def _config(models, output=None, **opts) -> RunConfig:
    keys = (
        "time_limit",
        "n_trials",
        "backend",
        "seed",
        "top_k",
        "n_splits",
        "init_points",
        "memory_limit",
        "workdir",
    )
    return RunConfig(models=models, output=output, **{k: opts[k] for k in keys})


def _search(comp, models, opts):
    from .pipeline import AutoTab
    from .progress import RunProgress

    competition = load_comp(comp, opts["target"], opts["id_column"], opts["task"], opts["metric"])
    config = _config(models, **opts)
    started = _started()
    progress = RunProgress(config.time_limit, started, quiet=opts["quiet"])
    automl = AutoTab(
        config,
        storage=opts["storage"],
        fresh=opts["fresh"],
        on_trial=progress.trial,
        on_notice=lambda text: progress.echo(f"note: {text}"),
        on_stage=progress.stage,
        on_plan=progress.echo,
    )
    progress.echo(
        f"automl-tab: {competition.name}, budget {config.time_limit:.0f}s, models "
        f"{','.join(config.models)}, backend {config.backend}, seed {config.seed}"
    )
    try:
        automl.fit(competition, started=started)
        progress.stage("ensemble and submission")
        return automl, progress
    except BaseException:
        progress.close()
        raise


@main.command()
@click.argument("comp", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_search_options
@schema_options
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Submission CSV (default: a new time-stamped file in the workdir).",
)
@click.option(
    "--models",
    default=",".join(MODELS),
    show_default=True,
    help="Model families to search, comma-separated: nn (pyramid network), lgbm (LightGBM), "
    "xt (ExtraTrees).",
)
@fail_cleanly
def run(comp, output, models, **opts):
    """Search, ensemble and write a validated submission for competition folder COMP."""
    families = tuple(m.strip() for m in models.split(",") if m.strip())
    automl, progress = _search(comp, families, opts)
    try:
        result = automl.finalize(output=output)
    finally:
        progress.close()
    _print_leaderboard(automl.leaderboard(), automl.schema_.metric, quiet=opts["quiet"])
    _print_final(result)
    click.echo(f"report written: {automl.workdir_ / 'report.html'}")


@main.command("tune-nn")
@click.argument("comp", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_search_options
@schema_options
@fail_cleanly
def tune_nn(comp, **opts):
    """Search the pyramid networks only; print the leaderboard and best parameters."""
    from .ensemble import top_trials

    automl, progress = _search(comp, ("nn",), opts)
    try:
        best = top_trials(automl.trials_, 1)
        if not best:
            raise AutomlTabError("no trial finished; raise --time-limit or --n-trials")
        automl.write_leaderboard()
        progress.stage("report")
        automl.write_report()
    finally:
        progress.close()
    _print_leaderboard(automl.leaderboard(), automl.schema_.metric, quiet=opts["quiet"])
    click.echo(f"best parameters (trial {best[0].number}): {json.dumps(best[0].params)}")
    click.echo(f"report written: {automl.workdir_ / 'report.html'}")
    click.echo(
        f"saved in {automl.workdir_}; write a submission with: automl-tab submit {automl.workdir_}"
    )


@main.command()
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--storage", help="Trial store URL (default: SQLite in the workdir).")
@fail_cleanly
def submit(workdir, top_k, output, storage):
    """Write a submission from a finished run in WORKDIR, without searching again."""
    from .pipeline import AutoTab

    automl = AutoTab.from_workdir(workdir, storage=storage)
    _print_final(automl.finalize(top_k=top_k, output=output, report=False))


@main.command()
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--storage", help="Trial store URL (default: SQLite in the workdir).")
@fail_cleanly
def report(workdir, storage):
    """Rebuild report.html and report.md of the run in WORKDIR (no training)."""
    from .pipeline import AutoTab

    html_path, _, n_plots = AutoTab.from_workdir(workdir, storage=storage).write_report()
    click.echo(f"report written: {html_path} ({n_plots} plots) and report.md")


@main.command("leaderboard")
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--storage", help="Trial store URL (default: SQLite in the workdir).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of trials instead.")
@fail_cleanly
def leaderboard_cmd(workdir, storage, as_json):
    """Print the trials of the run in WORKDIR, best first (all families, any state)."""
    from .pipeline import AutoTab
    from .progress import params_text
    from .progress import trial_name
    from .progress import trial_result

    automl = AutoTab.from_workdir(workdir, storage=storage)
    records = automl.leaderboard()
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    metric = automl.schema_.metric
    click.echo(f"{len(records)} trials ({metric}, mean ± std over folds), best first:")
    for rank, r in enumerate(records, 1):
        click.echo(f"{rank:>4}. {trial_name(r)}  {trial_result(r)}  {params_text(r.params)}")


@main.command()
@click.argument("comp", type=click.Path(exists=True, file_okay=False, path_type=Path))
@schema_options
@fail_cleanly
def info(comp, target, id_column, task, metric):
    """Print what was inferred about competition folder COMP."""
    from .schema import infer_schema

    s = infer_schema(load_comp(comp, target, id_column, task, metric))
    rows = [
        ("task", s.task),
        ("target", s.target),
        ("id column", s.id_column),
        ("metric", s.metric),
        ("submission", f"{s.output}: {', '.join(s.prediction_columns)}"),
        ("classes", ", ".join(s.classes) if s.classes else "-"),
        ("rows", f"{s.n_train} train ({s.n_unlabelled} without target dropped), {s.n_test} test"),
        ("numeric", _names(c for c in s.numeric if c not in s.codes)),
        ("integer codes", _names(s.codes)),
        ("categorical", _names(s.categorical)),
        ("datetime", _names(s.datetime)),
        ("text", _names(s.text)),
        ("dropped", ", ".join(f"{c} ({why})" for c, why in s.dropped) or "-"),
    ]
    for key, value in rows:
        click.echo(f"{key:>14}: {value}")
    for notice in s.notices:
        click.echo(f"note: {notice}")


def _names(cols) -> str:
    cols = list(cols)
    return f"{len(cols)}: {', '.join(cols)}" if cols else "-"


def _print_leaderboard(ordered, metric, limit: int = 10, quiet: bool = False):
    """The `limit` best completed trials of `ordered` (a leaderboard: best first)."""
    from .progress import trial_name
    from .progress import trial_result
    from .search.trial import TrialState

    if quiet:
        return
    click.echo(f"\nleaderboard ({metric}, mean ± std over splits):")
    for rank, r in enumerate([r for r in ordered if r.state == TrialState.COMPLETE][:limit], 1):
        epochs = ",".join(str(e) for e in r.best_epochs)
        click.echo(
            f"{rank:>3}. {trial_name(r)}  {trial_result(r)}  epochs {epochs}  "
            f"{r.duration or 0:.1f}s"
        )
    n_failed = sum(r.state == TrialState.FAIL for r in ordered)
    if n_failed:
        click.echo(f"     ({n_failed} failed trials not shown)")


def _print_final(result):
    singles = result.oof_scores or {}
    click.echo("\nensemble (weights from greedy selection on out-of-fold predictions):")
    for m, w in result.members:
        own = singles.get((m.model, m.number))
        own = f"out-of-fold {own:.5f}" if own is not None else ""
        click.echo(f"  {m.model:>4} trial {m.number:>3}  weight {w:.2f}  {own}")
    click.echo(
        f"cross-validated {result.metric} of the ensemble: {result.cv_score:.5f} "
        f"on {result.cv_rows} out-of-fold rows"
    )
    click.echo(f"submission written: {result.submission}")


# The benchmark commands live in their own module (cli_bench.py); they join the group here.
for _command in BENCH_COMMANDS:
    main.add_command(_command)
