"""Exceptions: fatal errors stop a run with one clean line; TrialFailed only ends one trial."""


class AutomlTabError(Exception):
    """Base class: the CLI turns any of these into a one-line message and exit code 1."""


class DataError(AutomlTabError):
    """The competition folder or its files cannot be used as given."""


class ConfigError(AutomlTabError, ValueError):
    """An option has a value outside its rule."""


class NotFittedError(AutomlTabError, AttributeError):
    """A model or pipeline was used before `fit`."""


class TrialFailed(Exception):
    """One trial could not produce a score (diverged, stopped by the clock, ...).

    Deliberately not an AutomlTabError: the runner records the trial as failed and searches on.
    """
