"""The files of a workdir: their names, atomic writes, run.json, the trial stores, and
whether an earlier run there can be resumed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .exceptions import ConfigError
from .exceptions import DataError

if TYPE_CHECKING:  # a type only: importing the search package here would load all of it
    from .search.trial import TrialRecord

RUN_FILE = "run.json"
TEMPLATE_FILE = "sample_submission.csv"
TARGET_FILE = "target.npy"


def write_atomic(path: Path, write) -> None:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it into place: a
    reader (or a crash) never sees half a file, and several workers may write at once."""
    path = Path(path)
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def save_array_atomic(path: Path, array: np.ndarray) -> None:
    """np.save, atomically (through an open file: np.save would add ".npy" to the name)."""

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as file:
            np.save(file, array)

    write_atomic(path, save)


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


def prepare_workdir(workdir: Path) -> None:
    """Create `workdir` and make sure it can be written, before any work is done."""
    try:
        workdir.mkdir(parents=True, exist_ok=True)
        probe = workdir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise DataError(
            f"workdir {workdir} cannot be written ({exc.strerror}); pass a writable --workdir"
        ) from None


# Settings that decide the folds: trials scored on other folds cannot join the same study.
FOLD_SETTINGS = {"seed": "--seed", "test_size": "test_size"}


def earlier_rows(workdir: Path) -> tuple[int, int] | None:
    """(training rows, one-hot cap) of the run whose trials are in `workdir` (its target.npy
    and run.json), or None: a run the memory guard sampled or narrowed resumes on that sample
    and those features, not on ones sized to the memory free now (which would differ, and
    refuse the resume as other training data)."""
    from .memory import CATEGORY_CAPS

    target_file = workdir / TARGET_FILE
    if not target_file.is_file():
        return None
    rows = int(np.load(target_file, mmap_mode="r", allow_pickle=False).shape[0])
    run = read_run(workdir) if (workdir / RUN_FILE).is_file() else {}
    return rows, int(run.get("max_categories", CATEGORY_CAPS[0]))


def check_resumable(workdir: Path, cfg, y) -> None:
    """Refuse to resume a workdir whose earlier run drew other folds (another seed or training
    data): its out-of-fold predictions would not line up with the new trials'."""
    if not (workdir / RUN_FILE).is_file():
        return
    earlier = read_run(workdir).get("config", {})
    for key, flag in FOLD_SETTINGS.items():
        old, new = earlier.get(key), getattr(cfg, key)
        if old is not None and old != new:
            raise ConfigError(
                f"{flag} is {new}, but the trials in {workdir} were scored with {old}; "
                f"pass {flag} {old} to resume, or --fresh (or another --workdir) to start over"
            )
    target_file = workdir / TARGET_FILE
    if target_file.is_file():
        old_y = np.load(target_file, allow_pickle=False)
        if old_y.shape != np.shape(y) or not np.array_equal(old_y, y):
            raise DataError(
                f"the training data differs from the run whose trials are in {workdir} "
                f"({len(old_y)} rows then, {len(y)} now, or other targets); pass --fresh "
                "(or another --workdir) to start over"
            )
