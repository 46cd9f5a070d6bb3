"""Benchmark commands: `bench` (the full pipeline on several folders, scored against their
answer keys) and `bench-nn` (the network stage against the course's training loop). Only these
read a folder's solution.csv, never the pipeline."""

from __future__ import annotations

from pathlib import Path

import click

from .cli_options import fail_cleanly
from .cli_options import load_comp
from .cli_options import schema_options
from .config import MODELS
from .exceptions import AutomlTabError


@click.command()
@click.argument("comps", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--time-limit", type=click.FloatRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Markdown table to write (a .json with the same name goes beside it).",
)
@click.option("--models", default=",".join(MODELS), show_default=True, help="Passed on to `run`.")
@fail_cleanly
def bench(comps, time_limit, seed, out, models):
    """Run the full pipeline on each competition folder and tabulate CV and holdout scores,
    time, peak memory and trials (the holdout needs the folder's solution.csv)."""
    from .bench import run_bench

    missing = [str(c) for c in comps if not (c / "train.csv").is_file()]
    if missing:
        raise AutomlTabError(f"not a competition folder (no train.csv): {', '.join(missing)}")
    _, table = run_bench(
        comps,
        time_limit=time_limit,
        seed=seed,
        out=out,
        extra=("--models", models),
        echo=click.echo,
    )
    click.echo(table, nl=False)


@click.command("bench-nn")
@click.argument("comp", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--n-configs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--reference/--no-reference",
    default=True,
    show_default=True,
    help="Also run the course's loop (--no-reference: ours only, e.g. for a memory run).",
)
@schema_options
@fail_cleanly
def bench_nn(comp, n_configs, seed, reference, target, id_column, task, metric):
    """Time the network stage against the course's Keras fit/predict loop on the same
    configurations and splits; the last line gives the speedup and both mean losses."""
    from .bench_nn import memory_line
    from .bench_nn import run_bench_nn

    result = run_bench_nn(
        load_comp(comp, target, id_column, task, metric),
        n_configs=n_configs,
        seed=seed,
        reference=reference,
        log=click.echo,
    )
    click.echo(memory_line(result))
    click.echo(result.ours_line())
    if reference:
        click.echo(result.summary_line())


@click.command("bench-recipe")
@click.argument("comps", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--n-configs", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--variants",
    default="patience,label_smoothing,beta2,members,smooth_clip",
    show_default=True,
    help="Recipe elements to try one at a time against the baseline, comma-separated "
    "(a+b tries two together).",
)
@click.option(
    "--against",
    default="baseline",
    show_default=True,
    help="The variant the others are compared with (one of --variants, or baseline).",
)
@fail_cleanly
def bench_recipe(comps, n_configs, seed, variants, against):
    """Ablation of the network recipe: the same configurations and folds with the baseline
    and with each variant, networks only; prints a table of losses, changes and times."""
    from .bench_recipe import VARIANTS
    from .bench_recipe import run_bench_recipe
    from .bench_recipe import unknown_variants

    missing = [str(c) for c in comps if not (c / "train.csv").is_file()]
    if missing:
        raise AutomlTabError(f"not a competition folder (no train.csv): {', '.join(missing)}")
    names = [v.strip() for v in variants.split(",") if v.strip()]
    unknown = unknown_variants(names)
    if unknown:
        raise AutomlTabError(
            f"--variants {','.join(unknown)} unknown; use some of {', '.join(sorted(VARIANTS))}"
        )
    if against not in ["baseline", *names]:
        raise AutomlTabError(
            f"--against {against} is not among the variants run; pass one of --variants or baseline"
        )
    table = run_bench_recipe(
        [load_comp(c, None, None, None, None) for c in comps],
        n_configs=n_configs,
        seed=seed,
        names=names,
        against=against,
        log=click.echo,
    )
    click.echo(table, nl=False)


@click.command("bench-scale")
@click.option("--rows", type=click.IntRange(min=50), default=100_000, show_default=True)
@click.option("--cols", type=click.IntRange(min=2), default=50, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=1), default=600, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--models", default=",".join(MODELS), show_default=True, help="Passed on to `run`.")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the synthetic competition here and keep it (reused if it holds one already).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="JSON file of the figures."
)
@fail_cleanly
def bench_scale(rows, cols, time_limit, seed, models, folder, out):
    """Generate a synthetic binary competition of ROWS x COLS (numeric, skewed, missing,
    categorical up to 100,000 levels), time loading and preprocessing it, run it, and print
    load and preprocessing time, peak memory of the process tree, trials and the holdout."""
    import json

    from .bench_scale import run_bench_scale
    from .bench_scale import scale_line

    figures = run_bench_scale(
        rows, cols, time_limit=time_limit, seed=seed, models=models, folder=folder,
        echo=click.echo,
    )  # fmt: skip
    if out is not None:
        out.write_text(json.dumps(figures, indent=2))
    click.echo(scale_line(figures))
    if figures.get("exit_code"):
        raise AutomlTabError(f"the run failed; see {figures['log']}")


BENCH_COMMANDS = (bench, bench_nn, bench_recipe, bench_scale)
