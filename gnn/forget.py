"""Forgetting a shopper in the files ``kgrec train`` and ``kgrec embed`` wrote.

Where a shopper's id or rows are, under the data directory:

* artifact versions ``artifacts/<version>/`` (and a ``.writing-*`` version left by an
  interrupted ``kgrec embed``): the id in ``users.parquet``, its vector in
  ``user_graph.npy`` (row-aligned), its interactions in ``ranking/interactions.npy``
  ((user row, product row) pairs), in a version an earlier kgrec wrote its ALS
  factors in ``ranking/als.npz`` (every user's are dropped: ALS now solves a
  shopper from its interactions, and the file keeps the product factors) and its row and
  column of ``ranking/peer_popularity.npz`` (its most alike shoppers, and it as
  one of theirs) and its row of ``ranking/peer_voters.npy`` (the text vector of
  its declared attributes, for shoppers who declare theirs online);
* snapshots ``snapshots/<version>.pt``: the id in ``ids["user"]``, its feature row
  (the text vector of its declared attributes) and its interaction edges.

:func:`forget_in_artifacts` and :func:`forget_in_snapshots` rewrite those files
without the shopper: every remaining user keeps its data, rows after the removed
one move up by one in every file of the version, so the files stay aligned. A
rewritten file is written beside the old one under a temporary name, synced, and
moved over it with :func:`os.replace` (a reader opens either the old file or the
new one, never half of one). The files of one version are replaced together
under a redo journal (:mod:`kgrec.gnn.replace_journal`): a forget stopped while
moving them in is finished by the next forget, the next load of the version or
``kgrec artifacts verify``; one stopped before changed nothing, and the next run
rewrites every file again. They are moved in one after the other: the version's
checksum file first (``checksums.sha256``, the rewritten files' new sums), then
the arrays and tables, the manifest, and ``users.parquet`` last. A rewritten
snapshot keeps its version name (the checkpoints and artifact versions name it).

Nothing else there holds a shopper: checkpoints (``checkpoints/*.pt``) hold the
GNN's weights (users have no per-id parameters) and product ids; the ranker
directories (``*.ranking/``) hold the trained ranker and the generators'
hyper-parameters. What the shopper contributed to aggregates (product popularity,
neighbour tables, ALS product factors, the weights) stays until the next
``kgrec train`` and ``kgrec embed``; peer popularity reads each shopper's votes
from ``interactions.npy``, so theirs stop counting with the rewrite.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from kgrec.errors import ArtifactError, ModelError
from kgrec.gnn.artifacts import MANIFEST, USER_GRAPH, USERS, WRITING_PREFIX
from kgrec.gnn.ranking.peer_popularity import load_peer_voters, load_peer_weights
from kgrec.gnn.ranking.served import (
    ALS_FILE,
    INTERACTIONS_FILE,
    PEER_FILE,
    PEER_VOTERS_FILE,
    RANKING_DIR,
)
from kgrec.gnn.ranking.tables import save_items
from kgrec.gnn.replace_journal import (
    Staged,
    Writer,
    discard,
    finish_replacing,
    new_token,
    remove_stale,
    replace_together,
    stage,
)
from kgrec.gnn.snapshot import USER
from kgrec.gnn.torch_files import load_checked
from kgrec.gnn.version_checksums import CHECKSUMS, checksums_with, damaged_files
from kgrec.gnn.versions import stale_writing

log = logging.getLogger(__name__)


def _bytes_writer(content: bytes) -> Writer:
    def write(f: IO[bytes]) -> None:
        f.write(content)

    return write


def _torch_writer(obj: object) -> Writer:
    def write(f: IO[bytes]) -> None:
        torch.save(obj, f)

    return write


def _shift(rows: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """Renumber ``rows`` after the ``removed`` rows (sorted) are taken out.

    Each row moves up by the number of removed rows before it.
    """
    return rows - np.searchsorted(removed, rows, side="left")


def artifact_dirs(root: Path) -> list[Path]:
    """List the artifact version directories under ``root`` that hold a users table.

    Not the ``.writing-*`` ones: a version being written is checked by its own
    ``kgrec embed`` once on disk (:mod:`kgrec.forget_epoch`), as rewriting it
    half-written would leave its later files a row off; those of a stopped
    embed are deleted (:func:`forget_in_artifacts`).
    """
    if not root.is_dir():
        return []
    return sorted(
        d
        for d in root.iterdir()
        if d.is_dir() and not d.name.startswith(WRITING_PREFIX) and (d / USERS).is_file()
    )


def forget_in_version(version: Path, user_id: str) -> list[Path]:
    """Rewrite one artifact version without ``user_id``.

    Returns:
        The files rewritten (none when the version does not hold the shopper).

    Raises:
        ArtifactError: the version's files cannot be read or do not agree with each
            other (nothing was changed); the message names the version.
    """
    finish_replacing(version)  # a forget stopped part-way: its files first
    remove_stale(version)
    try:
        users = pd.read_parquet(version / USERS)
    except (OSError, ValueError) as e:
        raise ArtifactError(
            f"cannot read {version / USERS} to forget a shopper in it ({e}); fix or remove "
            "that artifact version, then send the delete again"
        ) from e
    ids = users["id"].astype(str).to_numpy()
    drop = ids == user_id
    if not drop.any():
        return []
    damaged = damaged_files(version)  # never rewrite damaged files under fresh checksums
    if damaged:
        raise ArtifactError(
            f"artifact version {version} is damaged ({'; '.join(damaged)}), so the shopper "
            "cannot be taken out of it; remove that artifact version, then send the delete again"
        )
    removed = np.flatnonzero(drop)
    token = new_token()
    staged: list[Staged] = []
    try:
        kept_users = users[~drop].reset_index(drop=True)
        graph = np.load(version / USER_GRAPH)
        if graph.shape[0] != len(ids):
            raise ArtifactError(
                f"{version}: user_graph.npy has {graph.shape[0]} rows but users.parquet "
                f"{len(ids)}; remove that artifact version, then send the delete again"
            )
        kept_graph = graph[~drop]
        staged.append(
            (
                stage(version / USER_GRAPH, lambda f: np.save(f, kept_graph), token),
                version / USER_GRAPH,
            )
        )
        staged += _forget_in_ranking(version / RANKING_DIR, removed, token)
        manifest_path = version / MANIFEST
        if manifest_path.is_file():
            manifest: dict[str, Any] = json.loads(manifest_path.read_text())
            manifest["num_users"] = len(kept_users)
            text = json.dumps(manifest, indent=2).encode()
            staged.append((stage(manifest_path, _bytes_writer(text), token), manifest_path))
        # the shopper's id last: a forget stopped part-way still finds it, and is redone whole
        staged.append(
            (stage(version / USERS, lambda f: kept_users.to_parquet(f), token), version / USERS)
        )
        sums = checksums_with(
            version, {target.relative_to(version).as_posix(): tmp for tmp, target in staged}
        )
        if sums is not None:  # the new files' checksums first
            staged.insert(
                0, (stage(version / CHECKSUMS, _bytes_writer(sums), token), version / CHECKSUMS)
            )
    except (OSError, ValueError, KeyError, ArtifactError) as e:
        discard(staged)
        raise ArtifactError(
            f"cannot rewrite artifact version {version} without the shopper ({e}); nothing "
            "in it was changed: fix or remove that version, then send the delete again"
        ) from e
    except BaseException:
        discard(staged)
        raise
    replace_together(version, staged, token)
    return [target for _, target in staged]


def _forget_in_ranking(directory: Path, removed: np.ndarray, token: str) -> list[Staged]:
    """Stage the ranking tables without the ``removed`` user rows.

    Their interaction pairs are dropped and the later rows renumbered; their rows
    and columns of the peer weights are dropped, their rows of the peer voters'
    attributes, and the users' ALS factors a version an earlier kgrec wrote holds.
    """
    staged: list[Staged] = []
    pairs_path, als_path = directory / INTERACTIONS_FILE, directory / ALS_FILE
    if pairs_path.is_file():
        pairs = np.load(pairs_path)
        kept = pairs[:, ~np.isin(pairs[0], removed)].copy()
        kept[0] = _shift(kept[0], removed)
        staged.append((stage(pairs_path, lambda f: np.save(f, kept), token), pairs_path))
    if als_path.is_file():
        with np.load(als_path) as data:
            held = "users" in data  # a version an earlier kgrec wrote: users' factors too
            items = np.asarray(data["items"])
        if held:  # nothing reads them any more (ALS solves shoppers from their history)
            kept_items = torch.from_numpy(items)
            staged.append((stage(als_path, lambda f: save_items(f, kept_items), token), als_path))
    peer_path = directory / PEER_FILE
    if peer_path.is_file():
        try:
            weights = load_peer_weights(peer_path)
        except ArtifactError as e:  # reported as the version's other unreadable files
            raise ValueError(str(e)) from e
        keep = np.setdiff1d(np.arange(weights.shape[0]), removed)
        kept_weights = weights[keep][:, keep].tocsr()
        staged.append((stage(peer_path, lambda f: sp.save_npz(f, kept_weights), token), peer_path))
    voters_path = directory / PEER_VOTERS_FILE
    if voters_path.is_file():
        try:
            voters = load_peer_voters(voters_path).numpy()
        except ArtifactError as e:
            raise ValueError(str(e)) from e
        kept_voters = np.delete(voters, removed[removed < len(voters)], axis=0)
        staged.append((stage(voters_path, lambda f: np.save(f, kept_voters), token), voters_path))
    return staged


def forget_in_artifacts(root: Path, user_id: str) -> list[Path]:
    """Rewrite every artifact version under ``root`` that holds ``user_id``.

    Every version is tried; the first error is raised after the others.

    Returns:
        The files rewritten.

    Raises:
        ArtifactError: a version could not be rewritten (named in the message).
    """
    rewritten: list[Path] = []
    errors: list[ArtifactError] = []
    for leftover in stale_writing(root):  # a stopped embed's: no version, but shopper ids
        log.warning("deleting %s, left by a kgrec embed stopped part-way", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
    for version in artifact_dirs(root):
        try:
            rewritten += forget_in_version(version, user_id)
        except ArtifactError as e:
            log.error("%s", e)
            errors.append(e)
    if errors:
        raise errors[0]
    return rewritten


def snapshot_without(data: HeteroData, row: int) -> None:
    """Take user node ``row`` out of ``data`` in place.

    Its feature row and every edge of it (with the edges' attributes) go, and the
    later user rows are renumbered.
    """
    num_users = int(data[USER].num_nodes)
    keep_node = torch.ones(num_users, dtype=torch.bool)
    keep_node[row] = False
    node_store = data[USER]
    for key in list(node_store.keys()):
        value = node_store[key]
        if isinstance(value, Tensor) and value.dim() >= 1 and value.shape[0] == num_users:
            node_store[key] = value[keep_node]
    node_store.num_nodes = num_users - 1
    for edge_type in data.edge_types:
        src, _, dst = edge_type
        if USER not in (src, dst):
            continue
        store = data[edge_type]
        index: Tensor = store.edge_index
        count = index.shape[1]
        keep = torch.ones(count, dtype=torch.bool)
        for side, node_type in ((0, src), (1, dst)):
            if node_type == USER:
                keep &= index[side] != row
        for key in list(store.keys()):
            value = store[key]
            per_edge = isinstance(value, Tensor) and value.dim() >= 1 and value.shape[0] == count
            if key != "edge_index" and per_edge:
                store[key] = value[keep]
        index = index[:, keep].clone()
        for side, node_type in ((0, src), (1, dst)):
            if node_type == USER:
                index[side] -= (index[side] > row).long()
        store.edge_index = index


def forget_in_snapshots(directory: Path, user_id: str) -> tuple[list[Path], list[Path]]:
    """Rewrite every snapshot under ``directory`` that holds ``user_id`` without it.

    A snapshot that holds the shopper but cannot be rebuilt without them is deleted
    (``kgrec train`` exports a new one) and logged.

    Returns:
        (snapshots rewritten, snapshots deleted).

    Raises:
        ModelError: a snapshot cannot be read, so whether it holds the shopper is not
            known (the message names it; the other snapshots were done).
    """
    rewritten: list[Path] = []
    deleted: list[Path] = []
    unreadable: list[str] = []
    if directory.is_dir():  # a forget stopped part-way: its file first
        try:
            finish_replacing(directory)
            remove_stale(directory)
        except ArtifactError as e:
            raise ModelError(str(e)) from e
    paths = sorted(directory.glob("*.pt")) if directory.is_dir() else []
    for path in paths:
        try:
            blob = load_checked(path)
            users = list(blob["ids"][USER])
        except Exception as e:  # torch.load raises many kinds (pickle, zip, OS, CRC)
            unreadable.append(f"{path} ({e})")
            continue
        if user_id not in users:
            continue
        staged: list[Staged] = []
        token = new_token()
        try:
            snapshot_without(blob["data"], users.index(user_id))
            blob["ids"] = {**blob["ids"], USER: [u for u in users if u != user_id]}
            staged.append((stage(path, _torch_writer(blob), token), path))
        except Exception as e:  # a layout the rebuild does not know: delete instead
            discard(staged)
            path.unlink()
            log.warning(
                "deleted snapshot %s: it holds the shopper and could not be rewritten "
                "without them (%s); `kgrec train` exports a new one",
                path,
                e,
            )
            deleted.append(path)
            continue
        try:
            replace_together(directory, staged, token)
        except ArtifactError as e:
            raise ModelError(str(e)) from e
        rewritten.append(path)
    if unreadable:
        raise ModelError(
            "cannot read snapshot(s) to forget a shopper in them: "
            + "; ".join(unreadable)
            + "; remove them (`kgrec train` exports a new one), then send the delete again"
        )
    return rewritten, deleted
