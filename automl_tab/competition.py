"""Reading a Kaggle-style competition folder: train.csv, test.csv, sample_submission.csv.

Every cell is read as text, so labels and ids keep their exact spelling (leading zeros,
"2011-01-15 00:00:00", "Class_1"); typing happens in schema.py. The pipeline never opens
solution.csv: only the benchmark and tests may.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pandas as pd

from .exceptions import DataError

REQUIRED_FILES = ("train.csv", "test.csv", "sample_submission.csv")
META_KEYS = ("target", "id_column", "task", "metric")


@dataclass(frozen=True)
class Competition:
    """The three tables of a competition, as text, plus the optional competition.json facts."""

    name: str
    path: Path
    train: pd.DataFrame
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    meta: dict = field(default_factory=dict)


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read one CSV with every cell as a string (missing cells as NaN); errors become DataError."""
    where = f"{path.parent.name}/{path.name}"
    if not path.is_file():
        raise DataError(
            f"{where} not found: a competition folder needs {', '.join(REQUIRED_FILES)} "
            "(Kaggle layout); download the missing file into the folder"
        )
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{where} is empty; re-download it from the competition") from None
    except UnicodeDecodeError:
        raise DataError(f"{where} is not UTF-8 text; save it as a UTF-8 CSV file") from None
    except (pd.errors.ParserError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{where} is not a readable CSV file ({first}); check the file") from None
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataError(f"{where} has duplicated column names {dup}; rename them")
    return frame


def read_meta(path: Path) -> dict:
    """Read the optional competition.json; only target, id_column, task and metric are used."""
    meta_path = path / "competition.json"
    if not meta_path.is_file():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(
            f"{path.name}/competition.json is not valid JSON ({exc}); fix or delete it"
        ) from None
    if not isinstance(meta, dict):
        raise DataError(f"{path.name}/competition.json must hold a JSON object; fix or delete it")
    return {k: meta[k] for k in META_KEYS if meta.get(k) is not None}


def load_competition(path: str | Path, **overrides) -> Competition:
    """Load a competition folder.

    Args:
        path: folder holding train.csv, test.csv, sample_submission.csv (competition.json optional).
        **overrides: target, id_column, task, metric; a non-None value beats competition.json.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError(
            f"{path} is not a folder; pass the competition folder, e.g. competitions/titanic"
        )
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if missing:
        raise DataError(
            f"{path}: {', '.join(missing)} not found; a competition folder needs "
            f"{', '.join(REQUIRED_FILES)} (Kaggle layout)"
        )
    meta = read_meta(path)
    meta.update({k: v for k, v in overrides.items() if v is not None})
    tables = [read_csv_text(path / f) for f in REQUIRED_FILES]
    for name, frame in zip(REQUIRED_FILES, tables):
        if frame.shape[1] == 0:
            raise DataError(f"{path.name}/{name} has no columns; re-download it")
        if len(frame) == 0:
            raise DataError(f"{path.name}/{name} has a header but no rows; re-download it")
    train, test, sample = tables
    return Competition(path.name, path.resolve(), train, test, sample, meta)
