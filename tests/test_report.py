"""The report of a finished run, written from the workdir alone: the schema, the plan, the
leaderboard with each trial's out-of-fold score and weight, and the plots, in HTML and Markdown."""

import re

import pytest

from automl_tab import load_competition
from automl_tab.config import RunConfig
from automl_tab.pipeline import AutoTab
from automl_tab.report import write_report


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    from helpers import write_competition

    root = tmp_path_factory.mktemp("report")
    comp = write_competition(root / "comp", "regression", n=200)
    config = RunConfig(models=("lgbm",), n_trials=3, time_limit=60, workdir=root / "w")
    AutoTab(config).fit(load_competition(comp)).finalize(output=root / "sub.csv", report=False)
    return root / "w"


def test_the_report_tells_the_schema_the_plan_and_every_trial(finished_run):
    html_path, md_path, figures = write_report(finished_run)
    md = md_path.read_text()
    assert "| task | regression |" in md and "| metric | rmse |" in md
    assert "lgbm trials scored on" in md
    assert "3 trials (0 failed)" in md
    rows = [line for line in md.splitlines() if re.match(r"\| lgbm \| \d \| COMPLETE", line)]
    assert len(rows) == 3
    weights = [float(row.split("|")[-3]) for row in rows if row.split("|")[-3].strip()]
    assert weights and sum(weights) == pytest.approx(1.0, abs=0.02)  # the ensemble's weights


def test_the_page_holds_its_plots_and_a_regression_gets_no_confusion_matrix(finished_run):
    html_path, _, figures = write_report(finished_run)
    page = html_path.read_text()
    assert figures >= 3 and page.count("data:image/png;base64") == figures
    assert "confusion matrix" not in page.lower()
