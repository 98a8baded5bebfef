"""Early stopping on a validation score, shared by the GNN trainer and the MF-BPR baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from kgrec.errors import ConfigError

State = TypeVar("State")


class EarlyStopping(Generic[State]):
    """Keep the state of the best validation score; stop after ``patience`` epochs without one.

    Scores are tuples compared in order (higher is better, later entries break
    ties); only a strictly better score counts as an improvement.

    Args:
        patience: epochs without a better score before :attr:`should_stop` (>= 1).

    Raises:
        ConfigError: ``patience`` below 1.

    Attributes:
        best_score: the best score so far (None before the first epoch).
        best_state: the state taken at that epoch (None before the first epoch).
        since_best: epochs since the best one.
    """

    def __init__(self, patience: int) -> None:
        if patience < 1:
            raise ConfigError(f"patience must be >= 1 epoch, got {patience}")
        self.patience = patience
        self.best_score: tuple[float, ...] | None = None
        self.best_state: State | None = None
        self.since_best = 0

    def step(self, score: tuple[float, ...], state: Callable[[], State]) -> bool:
        """Record one epoch's score; True when it is the best so far.

        Args:
            score: the epoch's validation score.
            state: called only on an improvement; what it returns is kept as
                :attr:`best_state` (a copy: the model goes on training).
        """
        if self.best_score is None or score > self.best_score:
            self.best_score, self.best_state, self.since_best = score, state(), 0
            return True
        self.since_best += 1
        return False

    @property
    def should_stop(self) -> bool:
        """True once ``patience`` epochs in a row brought no better score."""
        return self.since_best >= self.patience
