"""served_order: the order a shopper's candidates are served in (the ranker's, but in two cases)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from kgrec.gnn.ranking.candidates import CandidateStage
from kgrec.gnn.ranking.features import Z_SUFFIX


def served_order(
    ranked: Tensor,
    stage: CandidateStage,
    item_count: Tensor,
    features: Sequence[str],
    *,
    without_history: str,
    fresh_history: Sequence[str],
) -> Tensor:
    """[B, C] what orders the candidates: the ranker's scores ``ranked`` [B, C], but in two cases.

    A shopper without history: every history-based generator is popularity for
    it, so its candidates go in the ``without_history`` generator's order (""
    = the ranker's). A shopper whose every product is fresh (no interactions in
    ``item_count`` [P]): no co-interaction table holds its products and the
    ranker never learnt from such a history, so its candidates go in the summed
    z-scores of the ``fresh_history`` content generators (products like its
    own; () = the ranker's). Padding (-1 candidates) reads -inf.

    Args:
        ranked: [B, C] the ranker's scores of ``stage``'s candidates.
        stage: the batch's candidates, their features (named ``features``), the
            generators' scores and the history.
        item_count: [P] training interactions per product row.
        features: the stages' feature names, in the features' order.
        without_history: see above.
        fresh_history: see above.
    """
    cands, seen = stage.candidates, stage.seen
    key = ranked.clone()
    empty = ~seen.any(1)
    if without_history and bool(empty.any()):
        order = stage.scores[without_history].gather(1, cands.clamp(min=0))
        key[empty] = order[empty]
    if fresh_history:  # a pass over the catalogue per shopper: only when the rule is on
        fresh_only = ~empty & ~(seen & (item_count > 0)[None, :]).any(1)
        if bool(fresh_only.any()):
            columns = [features.index(f"{g}{Z_SUFFIX}") for g in fresh_history]
            key[fresh_only] = stage.features[fresh_only][:, :, columns].sum(2)
    return key.masked_fill(cands < 0, float("-inf"))
