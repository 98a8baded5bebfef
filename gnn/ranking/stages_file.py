"""StagesFile: the settings a trained ranking saves beside its ranker.

What :meth:`~kgrec.gnn.ranking.staged.StagedRanking.save` writes besides the boosters:
``stages.json`` in the ranking directory of an artifact version: the method name,
the generators in their trained order (the feature order), the factor models and
the stages' settings (:class:`~kgrec.gnn.ranking.config.StagedConfig`). The
boosters themselves are ``ranker.txt`` (:class:`~kgrec.gnn.ranking.ranker.LearnedRanker`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Final, NamedTuple

from kgrec.errors import ModelError
from kgrec.gnn.ranking.config import StagedConfig

RANKER_FILE: Final = "ranker.txt"
STAGES_FILE: Final = "stages.json"


class StagesFile(NamedTuple):
    """The stages' settings as saved: name, generators (trained order), factor models, config."""

    name: str
    generators: list[str]
    factor_models: list[str]
    config: StagedConfig

    def write(self, directory: Path) -> Path:
        """Write ``stages.json`` into ``directory`` (created if need be); return its path."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "name": self.name,
            "generators": self.generators,
            "factor_models": self.factor_models,
            "config": self.config.to_dict(),
        }
        path = directory / STAGES_FILE
        path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        return path

    @classmethod
    def read(cls, directory: Path, served: Collection[str]) -> StagesFile:
        """Read ``stages.json`` from ``directory``, trained on generators among ``served``.

        Raises:
            ModelError: the file is missing, or the ranking was trained with a
                generator ``served`` lacks (both lists named).
        """
        path = directory / STAGES_FILE
        if not path.is_file():
            raise ModelError(f"no trained ranking at {directory} ({STAGES_FILE} missing)")
        meta = json.loads(path.read_text(encoding="utf-8"))
        trained = [str(g) for g in meta["generators"]]
        missing = [g for g in trained if g not in served]
        if missing:
            raise ModelError(
                f"the ranking at {directory} was trained with generators {trained}, and "
                f"{missing} this kgrec does not serve (it serves {list(served)}); "
                "retrain it (`kgrec train`, then `kgrec embed`)"
            )
        return cls(
            str(meta["name"]),
            trained,
            [str(g) for g in meta["factor_models"]],
            StagedConfig.from_dict(meta["config"]),
        )
