"""The run report: report.html (self-contained, plots embedded) and report.md (plots beside it
in report_files/), rebuilt from the workdir alone, so `automl-tab report` needs no training.

It shows why the result is good or not: the schema, the leaderboard and ensemble weights, the
cross-validated score with its spread over folds, the search's convergence, score against
every searched parameter, parameter importance, learning curves of the best networks, and
by task a confusion matrix with a calibration curve, or residuals against predictions.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .ensemble import blend
from .ensemble import covered_rows
from .ensemble import hedged
from .metrics import get_metric
from .plan import RunPlan
from .results import leaderboard
from .schema import DatasetSchema
from .search.trial import TrialState
from .splits import make_splits
from .splits import n_folds
from .workdir import TARGET_FILE
from .workdir import load_trials
from .workdir import open_stores
from .workdir import read_run
from .workdir import write_text_atomic

FIGURE_DIR = "report_files"


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display needed; also safe inside a headless CI
    import matplotlib.pyplot as plt

    return plt


class _Report:
    def __init__(self):
        self.parts: list[tuple[str, object]] = []  # ("h2"|"p"|"table"|"figure", payload)

    def add(self, kind, payload):
        self.parts.append((kind, payload))

    def figure(self, fig, name: str, caption: str):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        _plt().close(fig)
        self.add("figure", (name, caption, buf.getvalue()))

    def n_figures(self) -> int:
        return sum(kind == "figure" for kind, _ in self.parts)

    def write(self, workdir: Path, title: str) -> tuple[Path, Path]:
        figdir = workdir / FIGURE_DIR
        figdir.mkdir(exist_ok=True)
        md, body = [f"# {title}", ""], []
        for kind, payload in self.parts:
            if kind == "h2":
                md += [f"## {payload}", ""]
                body.append(f"<h2>{html.escape(payload)}</h2>")
            elif kind == "p":
                md += [payload, ""]
                body.append(f"<p>{html.escape(payload)}</p>")
            elif kind == "table":
                md += [_md_table(payload), ""]
                body.append(payload.to_html(index=False, border=0, na_rep="", classes="t"))
            else:
                name, caption, png = payload
                (figdir / f"{name}.png").write_bytes(png)
                md += [f"![{caption}]({FIGURE_DIR}/{name}.png)", "", f"*{caption}*", ""]
                data = base64.b64encode(png).decode()
                body.append(
                    f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,'
                    f'{data}"><figcaption>{html.escape(caption)}</figcaption></figure>'
                )
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;"
            "padding:0 1em}table.t{border-collapse:collapse;font-size:13px}"
            "table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #ddd}"
            "img{max-width:100%}figcaption{color:#555;font-size:13px}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{''.join(body)}</body></html>"
        )
        paths = workdir / "report.html", workdir / "report.md"
        for path, text in zip(paths, (page, "\n".join(md))):
            write_text_atomic(path, text)
        return paths


def _md_table(frame: pd.DataFrame) -> str:
    def cell(v):
        return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|---" * frame.shape[1] + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def write_report(workdir: Path, storage: str | None = None) -> tuple[Path, Path, int]:
    """Write report.html and report.md in `workdir`; returns their paths and the plot count."""
    workdir = Path(workdir)
    run = read_run(workdir)
    schema = DatasetSchema.from_dict(run["schema"])
    metric = get_metric(schema.metric)
    records = load_trials(workdir, storage)
    board_path = workdir / "leaderboard.json"
    board = json.loads(board_path.read_text()) if board_path.is_file() else None
    report = _Report()
    _schema_section(report, run, schema)
    _leaderboard_section(report, records, board, metric)
    ensemble_oof = _ensemble_section(report, workdir, run, schema, metric, board, storage)
    plt = _plt()
    _convergence(report, plt, records, metric)
    _parameters(report, plt, records, metric)
    _importance(report, plt, workdir, run, storage)
    _learning_curves(report, plt, workdir, records, run, storage)
    if ensemble_oof is not None:
        y = np.load(workdir / TARGET_FILE)
        _diagnostics(report, plt, schema, y, ensemble_oof)
    html_path, md_path = report.write(workdir, f"automl-tab report: {run['competition']}")
    return html_path, md_path, report.n_figures()


def _schema_section(report, run, schema):
    report.add("h2", "Competition and schema")
    rows = [
        ("competition", run["competition"]),
        ("task", schema.task),
        ("target", schema.target),
        ("id column", schema.id_column),
        ("metric", schema.metric),
        ("classes", ", ".join(schema.classes) if schema.classes else "-"),
        ("rows", f"{schema.n_train} train, {schema.n_test} test"),
        ("numeric", ", ".join(schema.numeric) or "-"),
        ("categorical", ", ".join(schema.categorical) or "-"),
        ("datetime", ", ".join(schema.datetime) or "-"),
        ("text", ", ".join(schema.text) or "-"),
        ("dropped", ", ".join(f"{c} ({why})" for c, why in schema.dropped) or "-"),
    ]
    if "plan" in run:  # how the trials were validated (plan.py)
        plan = RunPlan.from_dict(run["plan"])
        rows += [(f"{f} trials scored on", plan.describe(f)) for f in plan.folds]
    report.add("table", pd.DataFrame(rows, columns=["", "value"]))


def _leaderboard_section(report, records, board, metric):
    report.add("h2", "Leaderboard")
    weights = {}
    oof = {}
    if board is not None:
        for t in board["trials"]:
            weights[(t["model"], t["number"])] = t.get("weight", 0.0)
            oof[(t["model"], t["number"])] = t.get("oof_score")
    rows = []
    for r in leaderboard(records)[:25]:
        key = (r.model, r.number)
        rows.append(
            {
                "family": r.model,
                "trial": r.number,
                "state": r.state,
                f"{metric.name} (search folds)": _num(r.score),
                "± std": _num(r.score_std),
                "out-of-fold (all rows)": _num(oof.get(key)),
                "ensemble weight": _num(weights.get(key) or None, 2),
                "seconds": _num(r.duration, 1),
            }
        )
    failed = sum(r.state == TrialState.FAIL for r in records)
    report.add("p", f"{len(records)} trials ({failed} failed); the 25 best and the rest by number.")
    report.add("table", pd.DataFrame(rows))


def _num(value, digits: int = 5):
    return None if value is None else round(float(value), digits)


def _ensemble_section(report, workdir, run, schema, metric, board, storage):
    """The ensemble's out-of-fold predictions and its score per fold (mean ± spread)."""

    members = [t for t in (board or {}).get("trials", []) if t.get("weight", 0) > 0]
    if not members:
        report.add("p", "No ensemble yet (tune-nn writes none): run `automl-tab submit`.")
        return None
    stores = open_stores(workdir, storage, run)
    preds, weights = [], []
    for t in members:
        store = stores[t["model"]]
        full = store.has_predictions(t["number"], full=True)
        preds.append(store.load_predictions(t["number"], full=full)[0])
        weights.append(t["weight"])
    y = np.load(workdir / TARGET_FILE)
    oof = hedged(metric, blend(preds, weights), len(y))  # as results.finalize scores it
    cfg = run["config"]
    folds = make_splits(  # one repetition of the K-fold: every row in exactly one fold
        y,
        stratify=schema.is_classification,
        n_splits=n_folds(cfg["test_size"]),
        test_size=cfg["test_size"],
        random_state=cfg["seed"],
    )
    scores = []
    for _, valid in folds:
        part = oof[valid]
        ok = covered_rows(part)
        if ok.sum() > 1:
            scores.append(metric.score(y[valid][ok], part[ok]))
    report.add("h2", "Ensemble and cross-validated score")
    names = ", ".join(f"{t['model']} #{t['number']} × {t['weight']:.2f}" for t in members)
    report.add(
        "p",
        f"Cross-validated {metric.name}: {board['ensemble_cv']:.5f} over all out-of-fold rows; "
        f"per fold {np.mean(scores):.5f} ± {np.std(scores):.5f} ({len(scores)} folds). "
        f"Members (greedy weights): {names}.",
    )
    return oof


def _completed(records, family=None):
    return [
        r
        for r in records
        if r.state == TrialState.COMPLETE and (family is None or r.model == family)
    ]


def _convergence(report, plt, records, metric):
    families = sorted({r.model for r in _completed(records)})
    if not families:
        return
    report.add("h2", "Search")
    fig, axes = plt.subplots(1, len(families), figsize=(5.5 * len(families), 3.6), squeeze=False)
    for ax, family in zip(axes[0], families):
        done = sorted(_completed(records, family), key=lambda r: r.number)
        x = [r.number for r in done]
        s = np.array([r.score for r in done])
        best = np.maximum.accumulate(s) if metric.greater_is_better else np.minimum.accumulate(s)
        ax.scatter(x, s, s=14, alpha=0.7, label="trial")
        ax.step(x, best, where="post", color="C3", label="best so far")
        _focus(ax, s, metric)
        ax.set(title=f"{family}: convergence", xlabel="trial number", ylabel=metric.name)
        ax.legend(fontsize=8)
    report.figure(fig, "convergence", "Score against trial number, with the best so far.")


def _focus(ax, scores, metric) -> None:
    """Show the best 90 % of the scores: a few failed-looking outliers must not flatten the
    good region."""
    lo, hi = np.percentile(scores, [0, 90] if not metric.greater_is_better else [10, 100])
    pad = 0.1 * (hi - lo or 1)
    ax.set_ylim(lo - pad, hi + pad)


def _parameters(report, plt, records, metric):
    for family in sorted({r.model for r in _completed(records)}):
        done = _completed(records, family)
        names = list(done[0].params)
        cols = 3
        rows = -(-len(names) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(13, 3 * rows), squeeze=False)
        scores = np.array([r.score for r in done])
        for ax, name in zip(axes.flat, names):
            values = [r.params.get(name) for r in done]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                v = np.asarray(values, float)
                ax.scatter(v, scores, s=12, alpha=0.7, c=np.arange(len(v)), cmap="viridis")
                if v.min() > 0 and v.max() / v.min() > 50:
                    ax.set_xscale("log")
            else:
                levels = sorted({str(v) for v in values})
                idx = np.array([levels.index(str(v)) for v in values], float)
                jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(idx))
                ax.scatter(idx + jitter, scores, s=12, alpha=0.7)
                ax.set_xticks(range(len(levels)), levels, fontsize=8)
            ax.set(xlabel=name, ylabel=metric.name)
            _focus(ax, scores, metric)
        for ax in list(axes.flat)[len(names) :]:
            ax.set_visible(False)
        fig.tight_layout()
        report.figure(
            fig,
            f"params-{family}",
            f"{family}: score against each searched parameter (colour: trial order; the worst "
            "10 % of trials are off the scale).",
        )


def _importance(report, plt, workdir, run, storage):
    for family, store in open_stores(workdir, storage, run).items():
        importance = store.param_importance()
        if not importance:
            continue
        fig, ax = plt.subplots(figsize=(6, 0.35 * len(importance) + 1))
        names = list(importance)[::-1]
        ax.barh(names, [importance[n] for n in names])
        ax.set(title=f"{family}: parameter importance (fANOVA)", xlabel="share of variance")
        report.figure(
            fig,
            f"importance-{family}",
            f"{family}: how much of the score's variance each parameter explains.",
        )


def _learning_curves(report, plt, workdir, records, run, storage):
    from .models import MODEL_REGISTRY

    for family, store in open_stores(workdir, storage, run).items():
        if family in MODEL_REGISTRY and MODEL_REGISTRY[family].has_learning_curves:
            _family_curves(report, plt, store, records)


def _family_curves(report, plt, store, records):
    """Training and validation loss per epoch of the family's three best trials, per fold."""
    family = store.model
    best = sorted(_completed(records, family), key=lambda r: r.loss)[:3]
    if not best:
        return
    fig, axes = plt.subplots(1, len(best), figsize=(5 * len(best), 3.4), squeeze=False)
    for ax, r in zip(axes[0], best):
        for i, h in enumerate(store.load_history(r.number)):
            if h.get("loss"):
                ax.plot(h["loss"], color=f"C{i}", ls="--", lw=1)
                ax.plot(h["val_loss"], color=f"C{i}", lw=1.3, label=f"fold {i}")
        ax.set(title=f"{family} trial {r.number}", xlabel="epoch", ylabel="loss", yscale="log")
        ax.legend(fontsize=8)
    report.figure(
        fig,
        f"learning-curves-{family}",
        "Best networks: training (dashed) and validation (solid) loss per epoch, per fold. "
        "A widening gap is overfitting; early stopping kept each fold's best epoch.",
    )


def _diagnostics(report, plt, schema, y, oof):
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import confusion_matrix

    ok = covered_rows(oof)
    y, oof = y[ok], oof[ok]
    report.add("h2", "Out-of-fold diagnostics of the ensemble")
    if schema.task == "regression":
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(oof, y - oof, s=8, alpha=0.5)
        ax.axhline(0, color="C3")
        if schema.log_target:
            ax.set_xscale("log")
        ax.set(xlabel="prediction", ylabel="residual (true - predicted)")
        report.figure(fig, "residuals", "Residuals against out-of-fold predictions.")
        return
    classes = list(schema.classes)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    matrix = confusion_matrix(y, oof.argmax(axis=1), labels=range(len(classes)))
    ax1.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax1.text(j, i, str(count), ha="center", va="center", fontsize=8)
    ax1.set_xticks(range(len(classes)), classes, rotation=45, fontsize=8)
    ax1.set_yticks(range(len(classes)), classes, fontsize=8)
    ax1.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    if len(classes) == 2:
        truth, proba, label = y == 1, oof[:, 1], f"P({classes[1]})"
    else:  # top-label calibration: confidence of the predicted class against its accuracy
        truth, proba, label = oof.argmax(axis=1) == y, oof.max(axis=1), "confidence"
    frac, mean = calibration_curve(truth, proba, n_bins=10, strategy="quantile")
    ax2.plot([0, 1], [0, 1], color="grey", ls="--")
    ax2.plot(mean, frac, marker="o")
    ax2.set(xlabel=f"predicted {label}", ylabel="observed frequency", title="calibration")
    report.figure(fig, "confusion-calibration", "Confusion matrix and calibration of the ensemble.")
