"""gnn.forget: artifact versions and snapshots rewritten without one shopper.

The remaining users' rows stay aligned across every file (no graph, no training).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from kgrec.errors import ArtifactError, ModelError
from kgrec.gnn.artifacts import ArtifactManifest, ArtifactSet
from kgrec.gnn.forget import forget_in_artifacts, forget_in_snapshots, forget_in_version
from kgrec.gnn.ranking.peer_popularity import load_peer_voters, load_peer_weights
from kgrec.gnn.ranking.served import PEER_FILE, PEER_VOTERS_FILE, RANKING_DIR
from kgrec.gnn.ranking.tables import item_arrays
from kgrec.gnn.replace_journal import JOURNAL_PREFIX, TMP_SUFFIX
from kgrec.gnn.schema import INTERACTED, PRODUCT, USER, reverse, with_reverse
from kgrec.gnn.snapshot import Snapshot
from kgrec.gnn.version_checksums import CHECKSUMS, damaged_files
from kgrec.loaders.rejects import forget_in_rejects

USERS = ["a", "gone", "b", "c", "late"]  # "late": added by kgrec embed after training
GONE = 1
TRAINED = 4  # the first 4 users are the training snapshot's (ALS rows, interactions)
P, D, F = 6, 3, 2


def _version(root: Path) -> Path:
    """An artifact version of 5 users and 6 products, with ranking tables."""
    u = len(USERS)
    artifacts = ArtifactSet(
        manifest=ArtifactManifest("v1", "snap", "enc", D, D, P, u),
        products=pd.DataFrame(
            {
                "id": [f"p{i}" for i in range(P)],
                "title": ["t"] * P,
                "price": [1.0] * P,
                "in_stock": [True] * P,
                "brand_id": [None] * P,
                "category_ids": [[] for _ in range(P)],
            }
        ),
        users=pd.DataFrame({"id": USERS}),
        categories=pd.DataFrame({"id": [], "name": [], "parent_id": []}),
        product_graph=np.zeros((P, D), np.float32),
        user_graph=np.arange(u * D, dtype=np.float32).reshape(u, D),
        product_text=np.zeros((P, D), np.float32),
        popularity=np.zeros(P, np.float32),
    )

    def ranking(version: Path) -> None:
        directory = version / RANKING_DIR
        directory.mkdir()
        # user row r interacted with products r and r + 1
        pairs = np.array([[r for r in range(TRAINED) for _ in (0, 1)], [0] * 2 * TRAINED])
        pairs[1] = [p for r in range(TRAINED) for p in (r, r + 1)]
        np.save(directory / "interactions.npy", pairs)
        # as an earlier kgrec wrote it: every trained user's ALS factors beside the products'
        users = np.arange(TRAINED * F, dtype=np.float32).reshape(TRAINED, F)
        np.savez(directory / "als.npz", users=users, items=np.ones((P, F), np.float32))
        # peer weights: row i, column j holds 10 * i + j (i != j)
        peers = np.array(
            [[0 if i == j else 10 * i + j for j in range(TRAINED)] for i in range(TRAINED)]
        )
        sp.save_npz(directory / PEER_FILE, sp.csr_matrix(peers.astype(np.float32)))
        # the voters' declared-attribute vectors: row r holds [r, r]
        voters = np.repeat(np.arange(TRAINED, dtype=np.float32)[:, None], 2, axis=1)
        np.save(directory / PEER_VOTERS_FILE, voters)

    return artifacts.save(root, writers=[ranking])


def test_a_version_is_rewritten_without_the_shopper_and_stays_aligned(tmp_path: Path) -> None:
    version = _version(tmp_path / "artifacts")
    before = ArtifactSet.load(version)
    rewritten = forget_in_version(version, "gone")
    assert {p.name for p in rewritten} == {
        "users.parquet",
        "user_graph.npy",
        "interactions.npy",
        "als.npz",
        PEER_FILE,
        PEER_VOTERS_FILE,
        CHECKSUMS,  # the rewritten files' new sums: the version still loads, not "damaged"
        "manifest.json",
    }
    assert damaged_files(version) == []
    after = ArtifactSet.load(version)  # validates the row counts against the manifest
    kept = [u for u in USERS if u != "gone"]
    assert after.users["id"].tolist() == kept
    assert after.manifest.num_users == len(kept)
    for user in kept:  # every remaining user keeps its own vector
        old, new = USERS.index(user), kept.index(user)
        np.testing.assert_array_equal(after.user_graph[new], before.user_graph[old])
    pairs = np.load(version / RANKING_DIR / "interactions.npy")
    # each remaining trained user still has exactly its own products, at its new row
    for user in ("a", "b", "c"):
        old, new = USERS.index(user), kept.index(user)
        assert sorted(pairs[1][pairs[0] == new].tolist()) == [old, old + 1]
    assert set(pairs[0].tolist()) == {0, 1, 2}
    with np.load(version / RANKING_DIR / "als.npz") as als:  # no user's factors are kept
        assert sorted(als.files) == ["items"]
        np.testing.assert_array_equal(als["items"], np.ones((P, F)))
    peers = load_peer_weights(version / RANKING_DIR / PEER_FILE).toarray()
    # "a", "b", "c" (rows 0, 2, 3 before): each keeps its peers but "gone"
    np.testing.assert_array_equal(peers, [[0, 2, 3], [20, 0, 23], [30, 32, 0]])
    # their declared attributes' vectors, the shopper's gone (a newcomer's possible voters)
    voters = load_peer_voters(version / RANKING_DIR / PEER_VOTERS_FILE)
    np.testing.assert_array_equal(voters.numpy(), [[0, 0], [2, 2], [3, 3]])
    _no_leftovers(version)
    assert forget_in_version(version, "gone") == []  # nothing left: nothing rewritten


def test_a_user_added_after_training_leaves_the_ranking_tables_alone(tmp_path: Path) -> None:
    version = _version(tmp_path / "artifacts")
    pairs = np.load(version / RANKING_DIR / "interactions.npy")
    rewritten = {p.name for p in forget_in_version(version, "late")}
    assert "users.parquet" in rewritten
    np.testing.assert_array_equal(np.load(version / RANKING_DIR / "interactions.npy"), pairs)
    np.testing.assert_array_equal(item_arrays(version / RANKING_DIR / "als.npz"), np.ones((P, F)))


def test_an_inconsistent_version_is_an_error_that_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "artifacts"
    version = _version(root)
    np.save(version / "user_graph.npy", np.zeros((2, D), np.float32))
    users = (version / "users.parquet").read_bytes()
    with pytest.raises(ArtifactError, match="remove that artifact version"):
        forget_in_artifacts(root, "gone")
    assert (version / "users.parquet").read_bytes() == users
    _no_leftovers(version)


def _snapshot(path: Path) -> Snapshot:
    data = HeteroData()
    data[USER].x = torch.arange(4 * 2, dtype=torch.float32).reshape(4, 2)
    data[USER].num_nodes = 4
    data[PRODUCT].x = torch.zeros(3, 2)
    data[PRODUCT].num_nodes = 3
    edges = torch.tensor([[0, 1, 1, 2, 3], [0, 1, 2, 2, 0]])
    for edge_type, edge_index in with_reverse({INTERACTED: edges}).items():
        data[edge_type].edge_index = edge_index
    data[INTERACTED].ts = torch.tensor([10, 11, 12, 13, 14])
    data[INTERACTED].weight = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    data[INTERACTED].kind = torch.tensor([0, 1, 1, 0, 0])
    ids = {USER: ["a", "gone", "b", "c"], PRODUCT: ["p0", "p1", "p2"]}
    snapshot = Snapshot(data, ids, "snap", "enc")
    snapshot.save(path)
    return snapshot


def test_a_snapshot_is_rebuilt_without_the_shopper(tmp_path: Path) -> None:
    path = tmp_path / "snapshots" / "snap.pt"
    _snapshot(path)
    rewritten, deleted = forget_in_snapshots(path.parent, "gone")
    assert (rewritten, deleted) == ([path], [])
    snap = Snapshot.load(path)
    assert snap.ids[USER] == ["a", "b", "c"] and snap.version == "snap"
    data = snap.data
    assert data[USER].num_nodes == 3
    assert data[USER].x.tolist() == [[0.0, 1.0], [4.0, 5.0], [6.0, 7.0]]
    # the edges of a (0 -> p0), b (2 -> p2), c (3 -> p0), renumbered, attributes kept
    assert data[INTERACTED].edge_index.tolist() == [[0, 1, 2], [0, 2, 0]]
    assert data[reverse(INTERACTED)].edge_index.tolist() == [[0, 2, 0], [0, 1, 2]]
    assert data[INTERACTED].ts.tolist() == [10, 13, 14]
    assert data[INTERACTED].weight.tolist() == [1.0, 4.0, 5.0]
    assert data[INTERACTED].kind.tolist() == [0, 0, 0]
    assert b"gone" not in path.read_bytes()
    assert forget_in_snapshots(path.parent, "gone") == ([], [])


def test_an_unreadable_snapshot_is_named(tmp_path: Path) -> None:
    directory = tmp_path / "snapshots"
    _snapshot(directory / "good.pt")
    (directory / "bad.pt").write_bytes(b"not a snapshot")
    with pytest.raises(ModelError, match=r"bad\.pt.*`kgrec train` exports a new one"):
        forget_in_snapshots(directory, "gone")
    assert "gone" not in Snapshot.load(directory / "good.pt").ids[USER]  # the others are done


def test_rejects_rows_naming_the_shopper_are_dropped(tmp_path: Path) -> None:
    directory = tmp_path / "rejects"
    directory.mkdir()
    path = directory / "i.csv.interactions.rejects.csv"
    path.write_text(
        "file,row,column,reason,user_id,product_id\n"
        "i.csv,2,product_id,unknown product: 'p9',gone,p9\n"
        "i.csv,3,user_id,duplicate id: 'gone' (first at row 2),x,p1\n"
        "i.csv,4,product_id,unknown product: 'p8',a,p8\n"
    )
    only = directory / "u.csv.users.rejects.csv"
    only.write_text("file,row,column,reason,id\nu.csv,2,id,blank,gone\n")
    assert set(forget_in_rejects(directory, "gone")) == {path, only}
    assert "gone" not in path.read_text() and ",a,p8" in path.read_text()
    assert not only.exists()
    assert json.dumps(forget_in_rejects(directory, "gone")) == "[]"


def _stopping_after(monkeypatch: pytest.MonkeyPatch, moves: int) -> list[str]:
    """Make ``Path.replace`` raise as if killed once ``moves`` calls went through.

    Returns the names moved so far (the journal's own move is the first).
    """
    replace = Path.replace
    moved: list[str] = []

    def stops(self: Path, target: Path) -> Path:
        if len(moved) == moves:
            raise KeyboardInterrupt("killed")
        moved.append(Path(target).name)
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", stops)
    return moved


def _no_leftovers(directory: Path) -> None:
    assert not list(directory.glob(f"{JOURNAL_PREFIX}*"))
    assert not list(directory.rglob(f"*{TMP_SUFFIX}"))


@pytest.mark.parametrize("moved_in", [0, 3, 6])
@pytest.mark.parametrize("finisher", ["load", "forget"])
def test_a_forget_stopped_while_moving_files_in_is_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved_in: int, finisher: str
) -> None:
    """Killed after its journal and ``moved_in`` of its 8 files: the next load or forget ends it.

    The version is then the one a whole forget writes (not a refused, half-rewritten one).
    """
    version = _version(tmp_path / "artifacts")
    moved = _stopping_after(monkeypatch, 1 + moved_in)
    with pytest.raises(KeyboardInterrupt):
        forget_in_version(version, "gone")
    monkeypatch.undo()
    assert moved[0].startswith(JOURNAL_PREFIX) and len(moved) == 1 + moved_in
    assert "gone" in pd.read_parquet(version / "users.parquet")["id"].tolist()
    if finisher == "load":
        loaded = ArtifactSet.load(version)
        assert "gone" not in loaded.users["id"].tolist()
        assert forget_in_version(version, "gone") == []
    else:
        assert forget_in_version(version, "gone") == []  # finished first: nothing left
    assert damaged_files(version) == []
    _no_leftovers(version)
    kept = [u for u in USERS if u != "gone"]
    assert ArtifactSet.load(version).users["id"].tolist() == kept
    pairs = np.load(version / RANKING_DIR / "interactions.npy")
    assert set(pairs[0].tolist()) == {0, 1, 2}  # renumbered with the users table


KILLED_FORGET = """
import sys, time
from pathlib import Path
from kgrec.gnn.forget import forget_in_version

replace, moved = Path.replace, []


def stalls(self, target):
    if len(moved) == 4:  # the journal and 3 of the files moved in: stall to be killed
        print("moved", flush=True)
        time.sleep(600)
    moved.append(target)
    return replace(self, target)


Path.replace = stalls
forget_in_version(Path(sys.argv[1]), "gone")
"""


def test_a_forget_killed_with_sigkill_while_moving_files_in_is_finished(tmp_path: Path) -> None:
    """A real ``kill -9`` (no Python handler runs) after the journal and 3 moves."""
    version = _version(tmp_path / "artifacts")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_FORGET, str(version)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "moved\n", "the forget died before its moves"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert list(version.glob(f"{JOURNAL_PREFIX}*"))  # killed mid-way: its journal left
    assert damaged_files(version)  # half the files new, half old
    loaded = ArtifactSet.load(version)  # finishes it, then verifies the checksums
    assert loaded.users["id"].tolist() == [u for u in USERS if u != "gone"]
    assert damaged_files(version) == []
    _no_leftovers(version)


def test_a_forget_stopped_before_its_journal_changed_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = _version(tmp_path / "artifacts")

    def published() -> dict[str, bytes]:
        return {
            p.name: p.read_bytes()
            for p in version.iterdir()
            if p.is_file() and not p.name.endswith(TMP_SUFFIX)
        }

    before = published()
    _stopping_after(monkeypatch, 0)  # every file staged, the journal not yet in place
    with pytest.raises(KeyboardInterrupt):
        forget_in_version(version, "gone")
    monkeypatch.undo()
    assert list(version.rglob(f"*{TMP_SUFFIX}"))  # staged, never moved in
    assert published() == before
    assert "gone" in ArtifactSet.load(version).users["id"].tolist()  # still whole, verified
    assert "users.parquet" in {p.name for p in forget_in_version(version, "gone")}
    _no_leftovers(version)
    assert damaged_files(version) == []


def test_a_snapshot_forget_stopped_after_its_journal_is_finished_on_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "snapshots" / "snap.pt"
    _snapshot(path)
    _stopping_after(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        forget_in_snapshots(path.parent, "gone")
    monkeypatch.undo()
    assert Snapshot.load(path).ids[USER] == ["a", "b", "c"]  # what training would read
    _no_leftovers(path.parent)


def test_a_damaged_version_is_not_rewritten_under_fresh_checksums(tmp_path: Path) -> None:
    version = _version(tmp_path / "artifacts")
    graph = np.load(version / "user_graph.npy")
    graph[0, 0] += 1.0  # a bit of another shopper's vector changed on disk
    np.save(version / "user_graph.npy", graph)
    before = (version / CHECKSUMS).read_bytes()
    with pytest.raises(ArtifactError, match=r"is damaged \(user_graph.npy: SHA-256"):
        forget_in_version(version, "gone")
    assert (version / CHECKSUMS).read_bytes() == before
    assert "gone" in pd.read_parquet(version / "users.parquet")["id"].tolist()
