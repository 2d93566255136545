"""Every error xsweep raises on purpose.

Each message says what went wrong, where (file, batch, combo) and what to do
next. All derive from :class:`XsweepError`, so ``except xsweep.XsweepError``
catches them; each also derives from the closest builtin (``ValueError``,
``OSError``, ...) so existing ``except`` clauses keep working.
"""

from __future__ import annotations


class XsweepError(Exception):
    """Base class of the errors that xsweep raises on purpose."""


#: xyzpy's name for its base error: ``except xyz.XYZError`` keeps working
XYZError = XsweepError


class InvalidCombosError(XsweepError, ValueError):
    """Combos, cases or constants that cannot describe a sweep."""


class FunctionSignatureError(XsweepError, TypeError):
    """Arguments that do not match the function to be swept."""


class OutputMismatchError(XsweepError, ValueError):
    """What the function returned does not match ``var_names`` / ``var_dims``."""


class ComboFailedError(XsweepError, RuntimeError):
    """A combo raised; the original exception is chained as ``__cause__``."""


class NotPicklableError(XsweepError, TypeError):
    """A function or value that must cross a process boundary cannot be pickled."""


class FileFormatError(XsweepError, ValueError):
    """A file on disk is truncated, garbled, or of an unknown format version."""


class CropError(XsweepError, RuntimeError):
    """A crop operation that cannot proceed (not sown, missing results, ...)."""


class FileSystemError(CropError, OSError):
    """The file system failed under xsweep, not the input: the crop directory
    vanished or was unmounted, a networked file system went away (ENOTCONN,
    ESTALE, EIO), the disk or quota is full. Nothing was half-written; the
    command line exits with its own code (4)."""


class CropReapedError(CropError):
    """The crop was reaped (or is not sown): nothing left to grow (exit code 3)."""


class IncompleteCropError(CropError):
    """Reaping needs every combo done, and some failed or have no result yet.

    Attributes
    ----------
    missing : list of int
        Batches with no result yet.
    failures : list
        The failed combos (:class:`xsweep.engine.failures.Failure`).
    """

    def __init__(
        self, message: str, missing: list[int], failures: list, num_batches: int
    ) -> None:
        super().__init__(message)
        self.missing = missing
        self.failures = failures
        self.num_batches = num_batches


class StaleResultError(CropError):
    """A result answers a different batch than the one now sown."""


class SchedulerError(XsweepError, RuntimeError):
    """A job script that cannot be generated or a submission that failed."""


class FunctionMismatchError(CropError):
    """A grower's function is not the one the crop was sown with."""


class CropTimeoutError(CropError, TimeoutError):
    """Waiting for a crop's results took longer than the timeout."""


class MergeConflictError(XsweepError, ValueError):
    """New results disagree with results already saved (``overwrite=None``)."""


class NothingToSubmitError(SchedulerError):
    """Every batch asked for is already grown (or held): no job to submit."""


class WorkerError(XsweepError, RuntimeError):
    """A worker died or could not run a task: an error of the worker, not a combo."""


class Terminated(BaseException):
    """SIGTERM arrived while growing (a scheduler's time limit, ``scancel``,
    ``qdel``, ``kill``): raised in the main thread, like ``KeyboardInterrupt``,
    so that a grower keeps what it computed and releases its claims on the way
    out. Not an ``Exception``: it is never recorded as a failed combo."""

    def __init__(self, signum: int = 15) -> None:
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum
