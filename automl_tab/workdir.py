"""The files of a workdir: their names, atomic writes, run.json and the trial stores."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .exceptions import DataError
from .search.trial import TrialRecord

RUN_FILE = "run.json"
TEMPLATE_FILE = "sample_submission.csv"
TARGET_FILE = "target.npy"


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place: a reader
    (or a crash) never sees half a file, and several workers may write at once."""
    path = Path(path)
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def write_json(path: Path, data) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=json_default))


def json_default(value):
    """What json.dumps writes for NumPy scalars and anything else it cannot encode."""
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def read_run(workdir: Path) -> dict:
    path = Path(workdir) / RUN_FILE
    if not path.is_file():
        raise DataError(
            f"{workdir} holds no finished run ({RUN_FILE} missing); run "
            "`automl-tab run COMP` or `automl-tab tune-nn COMP` first"
        )
    return json.loads(path.read_text())


def open_stores(workdir: Path, storage: str | None = None, run: dict | None = None) -> dict:
    """The trial store of each model family of the run in `workdir`, by family name."""
    from .search import TrialStore

    run = run or read_run(workdir)
    return {name: TrialStore(workdir, name, storage, run["competition"]) for name in run["models"]}


def load_trials(workdir: Path, storage: str | None = None) -> list[TrialRecord]:
    records: list[TrialRecord] = []
    for store in open_stores(workdir, storage).values():
        records += store.records()
    return records
