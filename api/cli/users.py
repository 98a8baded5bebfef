"""``kgrec users delete ID``: forget a shopper (:mod:`kgrec.api.forget`)."""

from __future__ import annotations

from typing import Annotated

import typer

from kgrec.api.cli._app import app, settings_of

users_app = typer.Typer(help="Shoppers kgrec stores: forget one on request.")
app.add_typer(users_app, name="users")


@users_app.command("delete")
def delete(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The shopper's id, as imported or sent.")],
) -> None:
    """Forget a shopper everywhere kgrec stores them.

    Their node and interactions in the graph, their event ids, the cached vector of
    their declared attributes, their lines in the experiment log, and their rows in
    every artifact version and snapshot under the data directory. Exit 1 with "no
    shopper with this id" when nothing holds it (a second delete).

    A running `kgrec serve` keeps the shopper's vector in memory until it restarts:
    send DELETE /users/{id} to it instead (it does all of this and clears its memory).
    The log and the output name the shopper by a salted hash, never by the id.
    """
    from kgrec.api.forget import forget_user
    from kgrec.graph import open_graph
    from kgrec.pseudonym import Pseudonymiser

    settings = settings_of(ctx)
    shopper = Pseudonymiser.from_salt(settings.pseudonymise_salt)(user_id)
    with open_graph(settings.graph, settings.data_dir) as store:
        report = forget_user(
            shopper,
            data_dir=settings.data_dir,
            configured_salt=settings.forget_log_salt,
            store=store,
        )
    graph = (
        f"node and {report.relationships} relationships deleted"
        if report.graph_node
        else "no node (deleted before)"
    )
    typer.echo(f"forgot shopper {report.subject} (the log names them so)")
    typer.echo(f"  graph: {graph}")
    typer.echo(f"  event ids removed: {report.event_ids}")
    typer.echo(f"  online-write ledger entries removed: {report.online_ledger}")
    typer.echo(f"  text-cache entries removed: {report.text_cache_entries}")
    typer.echo(f"  experiment-log lines removed: {report.experiment_log_lines}")
    for path in report.files_rewritten:
        typer.echo(f"  rewritten without them: {path}")
    for path in report.files_deleted:
        typer.echo(f"  deleted (could not be rewritten): {path}")
    typer.echo(
        "a `kgrec serve` running now still holds them in memory until it restarts "
        "(DELETE /users/{id} on it clears that too)"
    )
