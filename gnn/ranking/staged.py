"""StagedRanking: candidate generators -> features -> learned ranker -> fresh slots.

The :class:`~kgrec.gnn.baselines.Recommender` that ``kgrec evaluate`` reports as
``kgrec``. It reuses generators already fitted on the training pairs (the GNN
and the baselines of the same run) and trains only the ranker, on the
validation pairs, never on a test pair: warm groups, and validation users
re-scored as if only 0, 1 or 3 of their products were known
(:mod:`kgrec.gnn.ranking.training`). Generators that learnt from these users'
pairs (factor models, the GNN: pass them as ``factor_models``) are marked
unavailable for the simulated cold users, as they are for real ones; the
history-based ones (item-kNN, text, KG, popularity) score them from the
revealed products alone.

Products without any training interaction (fresh) never go through the ranker;
:class:`~kgrec.gnn.ranking.fresh_order.FreshOrder` orders them per shopper and
:func:`~kgrec.gnn.ranking.slots.served_list` places them at the fresh slots.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import torch
from torch import Tensor

from kgrec.errors import ConfigError, ModelError
from kgrec.gnn.baselines import Recommender, history_matrix
from kgrec.gnn.ranking.candidates import CandidateStage, candidate_stage, generator_proposals
from kgrec.gnn.ranking.config import StagedConfig
from kgrec.gnn.ranking.features import feature_names
from kgrec.gnn.ranking.fresh_order import FreshOrder
from kgrec.gnn.ranking.ranker import LearnedRanker
from kgrec.gnn.ranking.retrieval import Retrieval, generator_scores
from kgrec.gnn.ranking.served_order import served_order
from kgrec.gnn.ranking.slots import WithoutFreshSlots, served_list
from kgrec.gnn.ranking.sparse_rows import BaseRow, base_rows
from kgrec.gnn.ranking.stages_file import RANKER_FILE, StagesFile
from kgrec.gnn.ranking.training import (
    FeatureStage,
    FoldStage,
    refitted_without,
    training_groups,
)
from kgrec.gnn.splits import pair_keys

log = logging.getLogger(__name__)


class StagedRanking:
    """The served ranking as a :class:`~kgrec.gnn.baselines.Recommender` (see the module docs).

    Args:
        generators: name -> a fitted recommender proposing candidates (its order
            sets the feature order).
        factor_models: names of generators that score only users they were trained on.
        config: the stages' settings.
        name: the method name in reports.
    """

    def __init__(
        self,
        generators: Mapping[str, Recommender],
        *,
        factor_models: Sequence[str] = (),
        config: StagedConfig | None = None,
        name: str = "kgrec",
    ) -> None:
        self.generators = dict(generators)
        self.factor_models = tuple(factor_models)
        self.config = config or StagedConfig()
        self.name = name
        without = (self.config.without_history,) if self.config.without_history else ()
        top_up = (self.config.top_up,) if self.config.top_up else ()
        for option, names in (
            ("fresh_generators", self.config.fresh_generators),
            ("fresh_popularity", self.config.fresh_popularity),
            ("fresh_history", self.config.fresh_history),
            ("without_history", without),
            ("top_up", top_up),
        ):
            unknown = [g for g in names if g not in self.generators]
            if unknown:
                raise ConfigError(
                    f"{option} {unknown} are not among the generators; "
                    f"choose from: {', '.join(self.generators)}"
                )
        self.features = feature_names(list(self.generators))
        self.ranker: LearnedRanker | None = None
        self.item_count = torch.zeros(0)
        self.known_users = torch.zeros(0, dtype=torch.bool)
        self.label_pairs = torch.zeros((2, 0), dtype=torch.long)
        self._fresh: FreshOrder | None = None
        self._bases: dict[str, BaseRow] | None = None
        self.retrieval: dict[str, Retrieval] = {}

    # Training ------------------------------------------------------------------------
    def fit(self, train: Tensor, num_users: int, num_items: int, val: Tensor | None = None) -> None:
        """Train the ranker on ``val`` [2, E] (the generators are already fitted on ``train``).

        The groups are the warm validation users and the simulated cold ones
        (:func:`~kgrec.gnn.ranking.training.training_groups`).

        Raises:
            ValueError: no validation pairs to learn from.
        """
        if val is None or val.shape[1] == 0:
            raise ValueError("StagedRanking.fit needs validation pairs to train the ranker on")
        self.item_count = torch.bincount(train[1], minlength=num_items)
        self.known_users = torch.zeros(num_users, dtype=torch.bool)
        self.known_users[train[0]] = True
        self._fresh, self._bases = None, None
        groups = training_groups(
            self._stage, train, val, num_users, num_items, self.config, self._stage_without(train)
        )
        self.label_pairs = groups.label_pairs
        threads = max(torch.get_num_threads(), 1)
        self.ranker = LearnedRanker.fit(
            groups.x, groups.y, groups.sizes, self.features, self.config.ranker, threads
        )
        log.info(
            "ranker trained on %d rows in %d groups (%d positives)",
            len(groups.y),
            len(groups.sizes),
            int(groups.y.sum()),
        )

    def _stage(self, users: Tensor, history: Tensor, simulated_cold: bool) -> tuple[Tensor, Tensor]:
        """(features [B, C, F], candidates [B, C]) of ``users``: the training groups' rows."""
        stage = self._features(users, history, simulated_cold=simulated_cold)
        return stage.features, stage.candidates

    def _stage_without(self, train: Tensor) -> FoldStage:
        """The fold stage over ``train``: a copy whose generators never saw the fold's pairs."""

        def stage(users: Tensor) -> FeatureStage:
            other = copy.copy(self)
            num_users, num_items = len(self.known_users), len(self.item_count)
            other.generators = refitted_without(
                self.generators, train, users, num_users, num_items, self.factor_models
            )
            rest = train[1, ~torch.isin(train[0], users)]
            other.item_count = torch.bincount(rest, minlength=num_items)
            other._fresh, other._bases, other.retrieval = None, None, {}
            return other._stage

        return stage

    # Scoring -------------------------------------------------------------------------
    def _features(
        self, users: Tensor, history: Tensor, *, simulated_cold: bool = False
    ) -> CandidateStage:
        """Gather the candidates of ``users`` and their ranker features."""
        seen = history_matrix(history, users, len(self.item_count)).bool()
        cap, per = self.config.rank_cap, self.config.per_generator
        scores, read = generator_scores(
            self.generators, self.retrieval, users, history, seen, cap, per
        )
        unknown = torch.ones(len(users), dtype=torch.bool)
        if not simulated_cold:
            unknown = ~self.known_users[users]
        unavailable = {name: unknown for name in self.factor_models}
        bases, count = self._base_rows(), self.item_count
        return candidate_stage(
            scores, seen, count, unavailable, cap, per, read, bases, self.config.top_up
        )

    def _base_rows(self) -> dict[str, BaseRow]:
        """The generators' base rows (:func:`base_rows`), computed once per binding."""
        if self._bases is None:  # none below sparse_rows' threshold
            self._bases = base_rows(self.generators, len(self.item_count))
        return self._bases

    def scores(self, users: Tensor, history: Tensor) -> Tensor:
        """[B, P] served order as scores: ranker order with fresh products at their slots.

        Products outside the served list (the history, warm non-candidates) get -inf.
        """
        return self._served(users, history, self.config.fresh_share)

    def _served(self, users: Tensor, history: Tensor, share: float) -> Tensor:
        out = torch.full((len(users), len(self.item_count)), float("-inf"))
        for i, (served, _) in enumerate(self.ranked(users, history, share)):
            out[i, served] = torch.arange(len(served), 0, -1, dtype=torch.float32)
        return out

    def ranked(
        self,
        users: Tensor,
        history: Tensor,
        share: float | None = None,
        keys: Tensor | None = None,
        limit: int | None = None,
    ) -> list[tuple[Tensor, Tensor]]:
        """Rank the served list of each user of ``users`` [B].

        Per user: the served rows [S] best first and their ranker scores [S] (NaN
        for the fresh products at their slots). The served list is the ranker's
        order of the generators' candidates with the fresh products (no
        interactions) merged in at the fresh slots, in each shopper's own draw
        of the cold order (``keys`` [B], the users' rows by default:
        :func:`~kgrec.gnn.ranking.slots.fresh_draw_noise`); the ``history``
        [2, E] products are left out. With ``limit``, only each list's first
        ``limit`` positions, the same as the whole list's
        (:func:`~kgrec.gnn.ranking.slots.served_list`).
        """
        ranked = self._ranked(users, history, share, keys, limit)
        return [(served, scores) for served, scores, _ in ranked]

    def ranked_with_proposers(
        self,
        users: Tensor,
        history: Tensor,
        share: float | None = None,
        keys: Tensor | None = None,
        limit: int | None = None,
    ) -> list[tuple[Tensor, Tensor, dict[str, Tensor]]]:
        """Rank like :meth:`ranked` and tell which generators proposed each row.

        The same pass and order as :meth:`ranked`, plus, per user, generator ->
        bool [S]: the generator had the served row among its top ``per_generator``
        for this user, as the candidate stage took them (all False at fresh slots).
        """
        return self._ranked(users, history, share, keys, limit, proposers=True)

    @torch.inference_mode()
    def _ranked(
        self,
        users: Tensor,
        history: Tensor,
        share: float | None,
        keys: Tensor | None,
        limit: int | None = None,
        *,
        proposers: bool = False,
    ) -> list[tuple[Tensor, Tensor, dict[str, Tensor]]]:
        if self.ranker is None:
            raise RuntimeError("StagedRanking.scores before fit")
        share = self.config.fresh_share if share is None else share
        stage = self._features(users, history)
        cands, seen = stage.candidates, stage.seen
        b, c, f = stage.features.shape
        ranked = torch.from_numpy(self.ranker.score(stage.features.reshape(b * c, f).numpy()))
        ranked = ranked.view(b, c).float().masked_fill(cands < 0, float("-inf"))
        # the fresh products' order, over the catalogue's fresh columns, seen or not
        fresh = self._fresh_products()
        columns = fresh.columns
        mine, cold = fresh.drawn(
            stage.scores,
            self.config.fresh_generators,
            seen,
            users if keys is None else keys,
            self.config.fresh_temperature,
        )
        proposed_by = self._proposers(stage) if proposers else {}
        order_key = served_order(
            ranked,
            stage,
            self.item_count,
            self.features,
            without_history=self.config.without_history,
            fresh_history=self.config.fresh_history,
        )
        out: list[tuple[Tensor, Tensor, dict[str, Tensor]]] = []
        for i in range(b):
            served, served_scores = served_list(
                cands[i], ranked[i], order_key[i], columns[mine[i]], cold[i][mine[i]], share, limit
            )
            proposed = {name: mask[i][served] for name, mask in proposed_by.items()}
            out.append((served, served_scores, proposed))
        return out

    def _proposers(self, stage: CandidateStage) -> dict[str, Tensor]:
        """Generator -> [B, P] bool: what the candidate stage took from it."""
        seen = stage.seen
        fresh = (self.item_count == 0)[None, :].expand_as(seen)
        per, top_up = self.config.per_generator, self.config.top_up
        out: dict[str, Tensor] = {}
        for name, (rows, cols) in generator_proposals(
            stage.scores, stage.views, seen, fresh, per, top_up=top_up
        ).items():
            out[name] = torch.zeros_like(seen)
            out[name][rows, cols] = True
        return out

    def _fresh_products(self) -> FreshOrder:
        """The stages' fresh products (:class:`FreshOrder`), computed once per binding."""
        if self._fresh is None:
            names = self.config.fresh_popularity
            self._fresh = FreshOrder.of(self.generators, names, self.item_count)
        return self._fresh

    def with_fresh_temperature(self, temperature: float) -> StagedRanking:
        """These stages with the fresh order drawn at ``temperature`` (an arm's override).

        The copy shares the fresh products, their predicted popularity and the
        generators' base rows, computed here first if need be, so an arm's
        requests do not each compute them again (a sort of the catalogue per base).
        """
        self._fresh_products()
        self._base_rows()
        out = copy.copy(self)
        out.config = replace(self.config, fresh_temperature=temperature)
        return out

    def with_generator(self, name: str, generator: Recommender) -> StagedRanking:
        """These stages with the bound generator ``name`` replaced by ``generator``.

        A copy for one request (peer popularity weighing a shopper who declared its
        attributes online); it shares the fresh products and the base rows.

        Raises:
            ValueError: the stages have no generator ``name``.
        """
        if name not in self.generators:
            raise ValueError(f"no generator {name!r}; the stages have {list(self.generators)}")
        self._fresh_products()
        self._base_rows()
        out = copy.copy(self)
        out.generators = {**self.generators, name: generator}
        return out

    def with_retrieval(self, retrieval: Mapping[str, Retrieval]) -> StagedRanking:
        """These stages reading the linear generators in ``retrieval`` through their indexes.

        Name -> :class:`~kgrec.gnn.ranking.retrieval.Retrieval` over the bound
        generator's vectors (:mod:`kgrec.gnn.ranking.retrieval`); a copy.
        """
        out = copy.copy(self)
        out.retrieval = dict(retrieval)
        return out

    def without_fresh_slots(self) -> Recommender:
        """The same trained stages with the fresh-slot policy off (for the report)."""
        return WithoutFreshSlots(self._served, f"{self.name}/no_fresh_slots")

    def serving(
        self,
        generators: Mapping[str, Recommender],
        item_count: Tensor,
        known_users: Tensor,
        *,
        fresh_share: float | None = None,
        fresh_temperature: float | None = None,
    ) -> StagedRanking:
        """The trained stages over other generators (the served, table-backed ones).

        Args:
            generators: name -> generator, the same names in the same order as trained.
            item_count: [P'] interactions per product row (0 = fresh).
            known_users: [U'] bool, users the factor models hold.
            fresh_share: overrides the config's share of fresh slots (0 = off).
            fresh_temperature: overrides the config's temperature of the fresh
                order's draw (0 = none).

        Raises:
            ModelError: the generator names differ from the trained ones.
        """
        if list(generators) != list(self.generators):
            raise ModelError(
                f"the ranker was trained with generators {list(self.generators)} "
                f"but {list(generators)} are given"
            )
        out = StagedRanking.__new__(StagedRanking)
        out.__dict__.update(self.__dict__)
        out.generators = dict(generators)
        out.item_count, out.known_users = item_count, known_users
        out._fresh, out._bases, out.retrieval = None, None, {}
        if fresh_share is not None:
            out.config = replace(out.config, fresh_share=fresh_share)
        if fresh_temperature is not None:
            out.config = replace(out.config, fresh_temperature=fresh_temperature)
        return out

    def save(self, directory: Path) -> Path:
        """Write the trained ranker and the stages' settings into ``directory``.

        Raises:
            RuntimeError: the ranker was not trained.
        """
        if self.ranker is None:
            raise RuntimeError("StagedRanking.save before fit")
        directory.mkdir(parents=True, exist_ok=True)
        self.ranker.save(directory / RANKER_FILE)  # the settings last: they mark it complete
        meta = StagesFile(self.name, list(self.generators), list(self.factor_models), self.config)
        meta.write(directory)
        return directory

    @classmethod
    def load(cls, directory: Path, generators: Mapping[str, Recommender]) -> StagedRanking:
        """Read stages :meth:`save` wrote, over ``generators`` (call :meth:`serving` next).

        The stages take, in their trained order, the generators they were trained
        with among ``generators``: a ranking trained before a generator was added
        keeps scoring without it.

        Raises:
            ModelError: files missing, trained with a generator ``generators`` lacks,
                or on other features (the lists named).
        """
        meta = StagesFile.read(directory, generators)
        staged = cls(
            {g: generators[g] for g in meta.generators},
            factor_models=meta.factor_models,
            config=meta.config,
            name=meta.name,
        )
        staged.ranker = LearnedRanker.load(directory / RANKER_FILE, staged.features)
        return staged

    def assert_no_test_labels(self, test_pairs: Sequence[Tensor]) -> None:
        """Assert the ranker learned from none of ``test_pairs`` (each [2, T]).

        Raises:
            AssertionError: a test pair was a training label of the ranker.
        """
        num_items = max(len(self.item_count), 1)
        labels = pair_keys(self.label_pairs, num_items)
        for pairs in test_pairs:
            assert not torch.isin(pair_keys(pairs, num_items), labels).any(), (
                "ranker trained on a test pair"
            )
