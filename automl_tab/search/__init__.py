"""Search: what to try (optimizers), how to score it (objective), where it is kept (store)."""

from .objective import Objective
from .store import TrialStore
from .trial import TrialRecord
from .trial import TrialResult

__all__ = ["Objective", "TrialRecord", "TrialResult", "TrialStore"]
