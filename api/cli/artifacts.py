"""``kgrec artifacts list|promote|rollback|prune|verify``: the artifact versions on disk.

The versions are those of :class:`kgrec.gnn.versions.VersionStore`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kgrec.api.cli._app import app, settings_of
from kgrec.api.cli.tables import table
from kgrec.settings import Settings

if TYPE_CHECKING:
    from kgrec.gnn.versions import VersionStore

artifacts_app = typer.Typer(
    help="Artifact versions: list them, promote one to LATEST, roll back, prune, verify."
)
app.add_typer(artifacts_app, name="artifacts")

SERVES_NOTE = (
    "a running `kgrec serve` swaps to it within KGREC_SERVING__ARTIFACT_POLL_S seconds "
    "(requests in flight finish on the version they started with)"
)


def _check_servable(store: VersionStore, version: str) -> None:
    """Load ``version`` as the service would, before LATEST points at it.

    Its tables and arrays (memory-mapped), its ranking and its checkpoint.

    Raises:
        ArtifactError: it cannot be loaded (the reason named); LATEST is left as it is.
    """
    from kgrec.errors import ArtifactError, KgrecError
    from kgrec.gnn.artifacts import CHECKPOINT, ArtifactSet
    from kgrec.gnn.checkpoint import Checkpoint
    from kgrec.gnn.ranking.served import load_ranking

    path = store.path(version)
    try:
        ArtifactSet.load(path, mmap=True)
        load_ranking(path)
        if (path / CHECKPOINT).is_file():
            Checkpoint.load(path / CHECKPOINT)
    except (KgrecError, OSError, ValueError) as e:
        raise ArtifactError(
            f"artifact version {version} cannot be served, so LATEST stays {store.latest()}: {e}"
        ) from e


class _Adopted:
    """Makes a version's model the one the next ``kgrec embed`` embeds with; says which."""

    def __init__(self, settings: Settings, store: VersionStore) -> None:
        from kgrec.paths import DataDir

        self.store = store
        self.checkpoints = DataDir(settings.data_dir).checkpoints
        self.message = ""

    def __call__(self, version: str) -> None:
        from kgrec.gnn.latest_model import adopt_version_model

        latest = adopt_version_model(self.store.path(version), self.checkpoints)
        if latest is None:
            self.message = (
                f"{version} holds no checkpoint: the next `kgrec embed` still embeds with "
                f"{self.checkpoints / 'latest.pt'}"
            )
        else:
            self.message = f"{latest} is now {version}'s model, which the next `kgrec embed` uses"


def _store(settings: Settings) -> VersionStore:
    from kgrec.gnn.versions import VersionStore

    return VersionStore.in_data_dir(settings.data_dir, settings.artifacts.keep_versions)


def _gate_cell(gate: dict[str, Any] | None) -> str:
    """``0.4120 vs 0.4000 (serving V): promoted`` from a version's gate figures."""
    if gate is None:
        return ""
    main = next((r for r in gate.get("rows", []) if r.get("view") == "validation"), None)
    decided = "promoted" if gate.get("promote") else "refused"
    if gate.get("forced"):
        decided = "forced"
    if main is None:
        return decided
    serving = "n/a" if main.get("serving") is None else f"{main['serving']:.4f}"
    return f"R@20 {main['candidate']:.4f} vs {serving} ({gate.get('serving_version')}): {decided}"


@artifacts_app.command("list")
def list_versions(ctx: typer.Context) -> None:
    """List the versions on disk, oldest first.

    Each with its creation time, products and users, which one LATEST names (what
    `kgrec serve` serves), which a rollback returns to, and the promotion gate's
    figures when `kgrec train --since` recorded them.
    """
    store = _store(settings_of(ctx))
    infos = store.info()
    if not infos:
        typer.echo(f"no artifact versions under {store.root}; run `kgrec embed`")
        return
    rows = [
        [
            i.version,
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(i.created_at)),
            i.num_products,
            i.num_users,
            "LATEST (serving)" if i.latest else ("previous" if i.previous else ""),
            _gate_cell(i.gate) if i.problem is None else f"unreadable: {i.problem}",
        ]
        for i in infos
    ]
    typer.echo(table(["version", "created", "products", "users", "status", "gate"], rows))
    typer.echo(f"{len(infos)} version(s) under {store.root}; keeping {store.keep}")


@artifacts_app.command("promote")
def promote(
    ctx: typer.Context,
    version: Annotated[str, typer.Argument(help="The version to serve (see `list`).")],
) -> None:
    """Point LATEST at VERSION, whatever its gate figures.

    The promotion is recorded in the history, and the versions are pruned to
    KGREC_ARTIFACTS__KEEP_VERSIONS.
    """
    settings = settings_of(ctx)
    store = _store(settings)
    before = store.latest()
    adopt = _Adopted(settings, store)
    pruned = store.promote(
        version,
        f"kgrec artifacts promote (was {before})",
        check=lambda v: _check_servable(store, v),
        then=adopt,
    )
    typer.echo(f"LATEST: {before} -> {version}; {SERVES_NOTE}")
    typer.echo(adopt.message)
    if pruned:
        typer.echo(f"pruned: {', '.join(pruned)}")


@artifacts_app.command("rollback")
def rollback(ctx: typer.Context) -> None:
    """Point LATEST back at the version promoted before the current one.

    Run again, it goes back to the one before that.
    """
    settings = settings_of(ctx)
    store = _store(settings)
    before = store.latest()
    adopt = _Adopted(settings, store)
    target = store.rollback(check=lambda v: _check_servable(store, v), then=adopt)
    typer.echo(f"LATEST: {before} -> {target} (rolled back); {SERVES_NOTE}")
    typer.echo(adopt.message)


@artifacts_app.command("prune")
def prune(ctx: typer.Context) -> None:
    """Delete the oldest versions beyond KGREC_ARTIFACTS__KEEP_VERSIONS.

    Never LATEST, nor the version a rollback returns to.
    """
    store = _store(settings_of(ctx))
    pruned = store.prune()
    typer.echo(f"pruned: {', '.join(pruned)}" if pruned else "nothing to prune")


@artifacts_app.command("verify")
def verify(
    ctx: typer.Context,
    version: Annotated[
        str | None, typer.Argument(help="One version to check (default: every version).")
    ] = None,
) -> None:
    """Check each version's files against the SHA-256 sums `kgrec embed` wrote.

    Every file a version was published with is read whole, after finishing a
    forget stopped while it replaced them. Exits 1 when a file is missing or
    differs; a version written before kgrec recorded checksums is reported, not
    failed.
    """
    from kgrec.errors import ArtifactError
    from kgrec.gnn.replace_journal import finish_replacing
    from kgrec.gnn.version_checksums import damaged_files, read_checksums

    store = _store(settings_of(ctx))
    versions = store.versions() if version is None else [version]
    if not versions:
        typer.echo(f"no artifact versions under {store.root}; run `kgrec embed`")
        return
    rows, damaged = [], 0
    for v in versions:
        path = store.path(v)
        try:
            finished = finish_replacing(path)
            if finished:
                typer.echo(
                    f"{v}: finished a forget stopped part-way (moved in {len(finished)} file(s))"
                )
            problems = damaged_files(path)
            listed = read_checksums(path) or {}
        except ArtifactError as e:
            problems, listed = [str(e)], {}
        if problems is None:
            rows.append([v, "no checksums (written before kgrec recorded them)"])
        elif problems:
            damaged += 1
            rows.append([v, "DAMAGED: " + "; ".join(problems)])
        else:
            rows.append([v, f"ok ({len(listed)} files)"])
    typer.echo(table(["version", "files"], rows))
    if damaged:
        typer.echo(
            f"{damaged} damaged version(s): copy them again from where they were written, "
            "or rebuild with `kgrec embed`; LATEST and rollbacks refuse them"
        )
        raise typer.Exit(1)
