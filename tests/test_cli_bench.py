"""The benchmark commands: bench, bench-nn, bench-recipe, bench-scale."""

import json

import numpy as np
import pandas as pd
import pytest
from helpers import invoke

from automl_tab.models import PyramidNNModel


@pytest.mark.slow  # a benchmark command: minutes of CPU, CI runs it
def test_bench_tabulates_cv_and_holdout(multiclass_comp, tmp_path):
    out = tmp_path / "bench.md"
    result, log = invoke(
        "bench", multiclass_comp, "--models", "lgbm", "--time-limit", "30", "--out", out
    )
    assert result.exit_code == 0, log
    rows = json.loads(out.with_suffix(".json").read_text())
    assert rows[0]["exit_code"] == 0 and rows[0]["metric"] == "log_loss"
    assert 0 < rows[0]["holdout_score"] < np.log(3) and rows[0]["peak_rss_mib"] > 10
    # The family's best trial alone, scored as its own submission (one family: it may be the
    # ensemble, or one of its members).
    assert set(rows[0]["best_by_model"]) == {"lgbm"}
    assert 0 < rows[0]["best_by_model"]["lgbm"] < np.log(3)
    assert rows[0]["seconds"] > 0 and rows[0]["time_limit"] == 30
    assert "| multi | log_loss ↓ |" in out.read_text() and "lgbm 0." in out.read_text()


def test_bench_refuses_a_folder_without_train_csv(tmp_path):
    result, log = invoke("bench", tmp_path)
    assert result.exit_code == 1 and "no train.csv" in log


def test_holdout_score_matches_the_metric_definitions(tmp_path):
    from automl_tab.bench import holdout_score

    pd.DataFrame({"id": [1, 2, 3, 4], "y": ["a", "b", "a", "b"]}).to_csv(
        tmp_path / "solution.csv", index=False
    )
    sub = tmp_path / "sub.csv"
    pd.DataFrame({"id": [4, 3, 2, 1], "y": ["b", "a", "a", "a"]}).to_csv(sub, index=False)
    meta = {"id_column": "id", "target": "y", "metric": "accuracy"}
    assert holdout_score(tmp_path, sub, meta) == 0.75
    pd.DataFrame({"id": [1, 2, 3, 4], "a": [0.9, 0.2, 0.5, 0.5], "b": [0.1, 0.8, 0.5, 0.5]}).to_csv(
        sub, index=False
    )
    meta.update(metric="log_loss", task="multiclass", classes=["a", "b"])
    expected = -np.mean(np.log([0.9, 0.8, 0.5, 0.5]))
    assert holdout_score(tmp_path, sub, meta) == pytest.approx(expected)


def test_family_holdouts_need_the_answer_key(tmp_path):
    from automl_tab.bench import family_holdouts

    assert family_holdouts(tmp_path, tmp_path / "workdir", {"trials": []}, {}) == {}


@pytest.mark.slow  # a benchmark command: minutes of CPU, CI runs it
def test_bench_nn_compares_the_course_loop_with_ours(multiclass_comp, monkeypatch):
    from automl_tab import bench_nn

    drawn = bench_nn.sample_configs(2, seed=0)
    assert len(drawn) == 2 and drawn[0] != drawn[1] and drawn[0]["batch_size"] == 32
    # Small networks keep CI fast; the drawn ones can hold millions of weights.
    small = [{**c, "neuron_pct": 0.01, "learning_rate": 0.01} for c in drawn]
    monkeypatch.setattr(bench_nn, "sample_configs", lambda n, seed: small[:n])
    result, log = invoke("bench-nn", multiclass_comp, "--n-configs", "1")
    assert result.exit_code == 0, log
    lines = log.strip().splitlines()
    assert lines[-3].startswith("nn-memory trials=1 ") and "workers_gone=0" in lines[-3]
    ours = dict(item.split("=") for item in lines[-2].split()[1:])
    assert lines[-2].startswith("nn-ours configs=1 ")
    assert float(ours["mean_seconds"]) > float(ours["mean_trace_seconds"]) >= 0
    fields = dict(item.split("=") for item in lines[-1].split()[1:])
    assert lines[-1].startswith("nn-throughput ") and set(fields) == {
        "speedup",
        "loss_ref",
        "loss_ours",
    }
    assert float(fields["speedup"]) > 0
    # Same configurations, same splits: the two loops reach comparable losses.
    assert 0 < float(fields["loss_ours"]) < 2 * float(fields["loss_ref"])


@pytest.mark.slow  # a benchmark command: minutes of CPU, CI runs it
def test_bench_recipe_tabulates_each_variant_against_the_baseline(multiclass_comp):
    from automl_tab.bench_recipe import sample_params

    drawn = sample_params(3, seed=0)
    assert drawn[0] == PyramidNNModel.default_params() and drawn[1] != drawn[2]
    assert all(p["neuron_pct"] <= 0.1 + 1e-9 for p in drawn)
    result, log = invoke(
        "bench-recipe", multiclass_comp, "--n-configs", "1", "--variants", "beta2,members+beta2"
    )
    assert result.exit_code == 0, log
    rows = [line for line in log.splitlines() if line.startswith("| ")]
    variants = [row.split(" | ")[1] for row in rows[1:4]]  # after the header
    assert variants == ["baseline", "beta2", "members+beta2"]
    assert "+0.00 %" in rows[1]  # the baseline against itself
    refused, log = invoke("bench-recipe", multiclass_comp, "--variants", "wings")
    assert refused.exit_code == 1 and "--variants wings unknown" in log


@pytest.mark.slow  # a benchmark command: minutes of CPU, CI runs it
def test_bench_scale_generates_a_learnable_competition_and_runs_it(tmp_path):
    folder, out = tmp_path / "synthetic", tmp_path / "scale.json"
    result, log = invoke(
        "bench-scale", "--rows", "600", "--cols", "7", "--time-limit", "30",
        "--models", "lgbm", "--folder", folder, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, log
    train = pd.read_csv(folder / "train.csv")
    assert len(train) == 600 and train.shape[1] == 7 + 2  # id, 7 features, target
    assert {"num0", "cat0", "cat1"} <= set(train.columns) and train["num0"].isna().any()
    assert train["cat1"].nunique() > train["cat0"].nunique() >= 3
    figures = json.loads(out.read_text())
    assert figures["holdout_score"] > 0.6 and figures["peak_tree_mib"] > 10
    assert figures["load_seconds"] >= 0 and figures["features_after_preprocessing"] > 7
    assert "peak memory" in result.output and "holdout" in result.output
