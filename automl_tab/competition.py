"""Reading a Kaggle-style competition folder: train.csv, test.csv, sample_submission.csv.

Every cell is read as text, so labels and ids keep their exact spelling (leading zeros,
"2011-01-15 00:00:00", "Class_1"); typing happens in schema.py. The pipeline never opens
solution.csv: only the benchmark and tests may.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .exceptions import DataError

REQUIRED_FILES = ("train.csv", "test.csv", "sample_submission.csv")
META_KEYS = ("target", "id_column", "task", "metric")
# The cells pandas' C reader reads as missing by default (its documented na_values list).
PANDAS_NA_CELLS = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip


@dataclass(frozen=True)
class Competition:
    """The three tables of a competition, as text, plus the optional competition.json facts."""

    name: str
    path: Path
    train: pd.DataFrame
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    meta: dict = field(default_factory=dict)


def _header(path: Path) -> list[str] | None:
    """The header's column names, or None when pandas would rename them (empty or repeated
    names) and so must read the file itself."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        names = next(csv.reader(handle), None)
    if not names or "" in names or len(set(names)) < len(names):
        return None
    return names


def _read_arrow(path: Path) -> pd.DataFrame | None:
    """Every cell as text, by pyarrow's own CSV reader, or None where pandas' C reader must
    decide. On a 320 MB train.csv (100,000 x 500) pandas' C reader takes 10.3 s and 1.6 GiB
    at its peak (README, Memory). Called directly, not through pandas' engine="pyarrow",
    because there the reader splits the file at newlines without regard to quotes and (with
    pyarrow < 25) types cells before making them text ("007" read as "7"); here every column
    is typed as text from the header and quoted newlines are allowed. Only where pandas keeps
    text as Arrow strings (pandas >= 3), so the frame is the one read_csv(dtype=str) makes."""
    text = pd.Series([], dtype=str).dtype
    if not isinstance(text, pd.StringDtype):
        return None
    try:
        names = _header(path)
        if names is None:
            return None
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=list(PANDAS_NA_CELLS),
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowException, UnicodeDecodeError, csv.Error, OSError):
        return None  # the C reader below reads it or says, in one line, why not
    if table.column_names != names:
        return None
    return table.to_pandas(types_mapper={pa.string(): text}.get)


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read one CSV with every cell as a string (missing cells as NaN); errors become DataError."""
    where = f"{path.parent.name}/{path.name}"
    if not path.is_file():
        raise DataError(
            f"{where} not found: a competition folder needs {', '.join(REQUIRED_FILES)} "
            "(Kaggle layout); download the missing file into the folder"
        )
    try:
        frame = _read_arrow(path)
        if frame is None:
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
