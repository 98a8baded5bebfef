"""DELETE /users/{id}: forget a shopper (:mod:`kgrec.api.forget`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from kgrec.api.deps import EventIdsDep, PseudonymiserDep, ServicesDep, require_write_key
from kgrec.api.forget import forget_user
from kgrec.api.schemas import RefId
from kgrec.errors import GraphConnectionError, ServiceUnavailableError


class UserDeletedOut(BaseModel):
    """What ``DELETE /users/{id}`` removed (the id itself is not repeated)."""

    model_config = ConfigDict(from_attributes=True)

    subject: str = Field(
        description="The salted hash of the id that names this deletion in the service's log."
    )
    graph_node: bool = Field(description="The User node was in the graph and is deleted.")
    relationships: int = Field(description="Relationships (interactions) deleted with it.")
    serving_state: bool = Field(
        description="The running service held the shopper's vector or cached history."
    )
    event_ids: int = Field(description="Event ids of the shopper's events removed.")
    online_ledger: int = Field(
        0, description="The shopper's entry in the ledger of online writes removed (0 or 1)."
    )
    text_cache_entries: int = Field(
        description="Cached text vectors of the shopper's declared attributes removed."
    )
    experiment_log_lines: int = Field(
        0, description="The shopper's impressions and events removed from the experiment log."
    )
    files_rewritten: list[str] = Field(
        description="Files under the data directory rewritten without the shopper."
    )
    files_deleted: list[str] = Field(
        description="Files deleted because they could not be rewritten without the shopper."
    )


router = APIRouter(tags=["users"], dependencies=[Depends(require_write_key)])


@router.delete("/users/{user_id}", response_model=UserDeletedOut)
def delete_user(
    user_id: Annotated[RefId, Path()],
    services: ServicesDep,
    event_ids: EventIdsDep,
    pseudonymise: PseudonymiserDep,
) -> UserDeletedOut:
    """Forget a shopper everywhere the service stores them.

    Their node and interactions in the graph, their vector in the serving state
    and caches, their event ids, the cached vector of their declared attributes,
    their lines in the experiment log, and their rows in every artifact version
    and snapshot on disk. Their next request is answered as a never-seen
    shopper's.

    404 when nothing holds the id (never seen, or deleted before: a second delete
    is a 404); 503, with nothing deleted, while the graph does not answer.
    """
    engine, store = services.engine, services.store
    if store is None or not engine.graph_up(fresh=True):
        where = "this service runs without one" if store is None else "it does not answer"
        raise ServiceUnavailableError(
            f"deleting a shopper needs the graph, and {where}; nothing was deleted, "
            "retry when /health reports the graph up"
        )
    try:
        report = forget_user(
            pseudonymise(user_id),
            data_dir=services.settings.data_dir,
            configured_salt=services.settings.forget_log_salt,
            store=store,
            engine=engine,
            arm_engines=list(services.arm_engines.values()),
            event_ids=event_ids,
        )
    except GraphConnectionError as e:
        if isinstance(e, ServiceUnavailableError):
            raise
        raise ServiceUnavailableError(
            f"the graph server stopped answering ({e}); send the delete again when "
            "/health reports the graph up"
        ) from e
    return UserDeletedOut.model_validate(report)
