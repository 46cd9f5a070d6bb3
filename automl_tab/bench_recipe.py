"""`automl-tab bench-recipe`: an ablation of the network's training recipe, one element at a
time, on several competitions: the same seeded configurations of the search space (its
default first) on the same folds, trained once with the baseline recipe and once with each
variant, networks only. The figures: each variant's mean loss per competition, its change
against the baseline, in how many configurations it did better, and its time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from .config import RunConfig
from .exceptions import TrialFailed
from .metrics import get_metric
from .models.pyramid_nn import SGD_RATE_SCALE
from .models.pyramid_nn import PyramidNNModel
from .pipeline import build_objective
from .pipeline import training_data
from .schema import infer_schema
from .splits import make_splits

SEARCH_FOLDS = 3
# Searched now, but the ablation's variants set them (to their first choice unless a
# variant says otherwise: one member, no embedding).
RECIPE_DIMENSIONS = ("members", "embedding")
# name: (model options, preprocessing options), each against the baseline (the first).
VARIANTS = {
    "baseline": ({}, {}),
    "patience": ({"patience": 10, "patience_rate": 0.5}, {}),
    "label_smoothing": ({"label_smoothing": 0.1}, {}),
    "beta2": ({"beta_2": 0.95}, {}),
    "members": ({"members": 8}, {}),
    "members4": ({"members": 4}, {}),
    "smooth_clip": ({}, {"smooth_clip": 3.0}),
    # The recipe the ablation above chose (patience rule, beta_2 0.95), to measure later
    # elements against with --against recipe.
    "recipe": ({"patience": 10, "patience_rate": 0.5, "beta_2": 0.95}, {}),
    "periodic": ({"embedding": "periodic"}, {}),
    # Weights that grow with the training rows (pyramid_nn.capacity): with "recipe+members+
    # periodic" against that alone, today's recipe with and without it.
    "capacity": ({"capacity_rule": True}, {}),
    # Every varying numeric column through the normal-quantile map, not only skewed ones (as
    # TabM's and the RTDL baselines' preprocessing does).
    "quantile_all": ({}, {"skew_limit": 0.0}),
    # SGD's learning rate SGD_RATE_SCALE times the searched one (pyramid_nn.SGD_RATE_SCALE).
    "sgd_rate": ({"sgd_rate_scale": SGD_RATE_SCALE}, {}),
}
# Names for combinations: today's recipe, to measure new elements against (--against current).
ALIASES = {"current": "recipe+members+periodic+capacity+sgd_rate"}
# The baseline is the recipe before the ablation, pinned so that the table can be redone:
# fixed patience 5, Adam's beta_2 0.999, one network, plain numeric inputs, only MAX_PARAMS
# bounding the weights, SGD at the searched rate (options override searched params).
BASE_OPTIONS = {
    "max_epochs": RunConfig.max_epochs,
    "patience": 5,
    "patience_rate": 0.0,
    "beta_2": 0.999,
    "members": 1,
    "embedding": "none",
    "capacity_rule": False,
    "sgd_rate_scale": 1.0,
}


@dataclass
class VariantFigures:
    losses: list = field(default_factory=list)  # per configuration; NaN when it failed
    seconds: list = field(default_factory=list)


# The first layer's share of 5000 units is drawn up to this (500 units), not 1.0: the widest
# networks of the space take minutes per trial on this CPU (jh-simple's six configurations
# took 193 s, eight members of them far longer), and the searches seldom end there.
MAX_NEURON_PCT = 0.1


def sample_params(n: int, seed: int) -> list[dict]:
    """The default, then `n - 1` seeded uniform draws from the network's search space
    (first layers of at most MAX_NEURON_PCT x 5000 units)."""
    space = PyramidNNModel.search_space()
    drawn = [name for name in space.names if name not in RECIPE_DIMENSIONS]
    top = space.dimensions[space.names.index("neuron_pct")].to_unit(MAX_NEURON_PCT)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n - 1):
        unit = {name: rng.uniform() for name in drawn}
        unit["neuron_pct"] *= top
        unit.update({name: 0.0 for name in RECIPE_DIMENSIONS})  # set by the variants
        draws.append(space.decode(unit))
    return [PyramidNNModel.default_params(), *draws][:n]


def variant(name: str) -> tuple[dict, dict]:
    """The options of a variant; "a+b" combines variants a and b."""
    model, prep = {}, {}
    for part in _parts(name):
        model.update(VARIANTS[part][0])
        prep.update(VARIANTS[part][1])
    return model, prep


def unknown_variants(names) -> list[str]:
    return [part for name in names for part in _parts(name) if part not in VARIANTS]


def _parts(name: str) -> list[str]:
    """The variants "a+b" combines, aliases expanded."""
    return [p for part in name.split("+") for p in ALIASES.get(part, part).split("+")]


def run_competition(comp, variants: dict, n_configs: int, seed: int, log) -> dict:
    """{variant: VariantFigures} for one competition."""
    schema = infer_schema(comp)
    X, y, X_test = training_data(comp, schema)
    folds = make_splits(
        y, stratify=schema.is_classification, n_splits=5, test_size=0.2, random_state=seed
    )
    metric = get_metric(schema.metric)
    params_list = sample_params(n_configs, seed)
    figures = {}
    for name, (model_options, prep_options) in variants.items():
        objective = build_objective(
            PyramidNNModel,
            schema,
            X,
            y,
            X_test.iloc[:1],  # test predictions are not part of the comparison
            folds,
            n_splits=SEARCH_FOLDS,
            model_options={**BASE_OPTIONS, **model_options},
            seed=seed,
            preprocessing=prep_options,
        )
        objective.prepare()
        figures[name] = run_variant(objective, metric, params_list)
        done = figures[name]
        log(
            f"  {comp.name:20s} {name:16s} mean loss {np.nanmean(done.losses):.5f} "
            f"time {sum(done.seconds):6.1f}s losses " + " ".join(f"{v:.4f}" for v in done.losses)
        )
    return figures


def run_variant(objective, metric, params_list) -> VariantFigures:
    out = VariantFigures()
    for k, params in enumerate(params_list):
        started = time.perf_counter()
        try:
            loss = metric.to_loss(objective(params, number=k).score)
        except TrialFailed:
            loss = float("nan")
        out.seconds.append(time.perf_counter() - started)
        out.losses.append(loss)
    return out


def summary(results: dict, against: str = "baseline") -> str:
    """Markdown: per competition and variant, the mean loss, its change against the
    variant `against` (the baseline by default), configurations won and time; then each
    other variant's mean change."""
    names = list(next(iter(results.values())))
    lines = ["| competition | variant | mean loss | change | better in | time (s) |"]
    lines.append("|---|---|---|---|---|---|")
    changes: dict = {n: [] for n in names}
    for comp, figures in results.items():
        base = np.asarray(figures[against].losses)
        for name in names:
            losses = np.asarray(figures[name].losses)
            both = np.isfinite(base) & np.isfinite(losses)
            change = _change(losses[both], base[both])
            changes[name].append(change)
            won = int((losses[both] < base[both]).sum())
            lines.append(
                f"| {comp} | {name} | {np.nanmean(losses):.5f} | {100 * change:+.2f} % | "
                f"{won}/{int(both.sum())} | {sum(figures[name].seconds):.0f} |"
            )
    lines += ["", "| variant | mean change | competitions better |", "|---|---|---|"]
    for name in (n for n in names if n != against):
        values = np.asarray(changes[name])
        lines.append(
            f"| {name} | {100 * values.mean():+.2f} % | {(values < 0).sum()}/{len(values)} |"
        )
    return "\n".join(lines) + "\n"


def _change(losses, base) -> float:
    """Relative change of the mean loss (negative: better), on the configurations where
    both trained."""
    if not len(base):
        return float("nan")
    return float((losses.mean() - base.mean()) / max(abs(base.mean()), 1e-12))


def run_bench_recipe(
    comps, *, n_configs: int, seed: int, names, against: str = "baseline", log=print
) -> str:
    """The ablation's table; `against` names the variant the others are compared with."""
    variants = {n: variant(n) for n in [against, *names]}  # what the others compare with first
    results = {}
    for comp in comps:
        log(f"bench-recipe: {comp.name}, {n_configs} configurations, {len(variants)} recipes")
        results[comp.name] = run_competition(comp, variants, n_configs, seed, log)
    return summary(results, against)
