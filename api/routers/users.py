"""PUT /users/{id}: what a shopper declares; DELETE /users/{id}: forget a shopper."""

from __future__ import annotations

import math
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from kgrec.api.deps import EventIdsDep, PseudonymiserDep, ServicesDep, require_write_key
from kgrec.api.forget import forget_user
from kgrec.api.schemas import MAX_TITLE_CHARS, NewId, RefId
from kgrec.errors import GraphConnectionError, ServiceUnavailableError
from kgrec.graph.records import UserRow

MAX_ATTRIBUTES: Final = 32
ATTRIBUTE_NAME_PATTERN: Final = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"
RESERVED_ATTRIBUTES: Final = frozenset({"id", "content_hash"})
"""Properties kgrec keeps itself: the id (the path's) and the importer's change hash."""


def _attribute_name(name: str) -> str:
    if name.lower() in RESERVED_ATTRIBUTES:
        raise ValueError(
            f"{name!r} is kept by kgrec and cannot be declared; "
            f"reserved: {', '.join(sorted(RESERVED_ATTRIBUTES))}"
        )
    return name


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a number must be finite")
    return value


AttributeName = Annotated[
    str, Field(pattern=ATTRIBUTE_NAME_PATTERN), AfterValidator(_attribute_name)
]
AttributeValue = Annotated[
    Annotated[str, Field(min_length=1, max_length=MAX_TITLE_CHARS)]
    | bool
    | Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]  # what the graph stores
    | float,
    AfterValidator(_finite),
]


class UserIn(BaseModel):
    """The body of ``PUT /users/{id}``: what the shopper declares about itself."""

    model_config = ConfigDict(extra="forbid")

    attributes: dict[AttributeName, AttributeValue] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description="Name -> text, number or true/false (e.g. age, gender, occupation, "
        "city): the shopper keeps exactly these. Names: a letter, then letters, digits or "
        "'_', 64 characters at most; not 'id' or 'content_hash'.",
        examples=[{"age": 24, "gender": "F", "occupation": "student"}],
    )


class UserOut(BaseModel):
    """What ``PUT /users/{id}`` wrote and how the shopper is now served."""

    created: bool = Field(description="The graph held no such shopper: it was created.")
    peers: int = Field(
        description="The artifact version's shoppers most alike in what they declared, "
        "whose choices order this shopper's recommendations while it has no history "
        "(0: the version has no peer popularity, or stores no voters' attributes)."
    )
    artifact_version: str


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


@router.put("/users/{user_id}", response_model=UserOut)
def declare_user(
    user_id: Annotated[NewId, Path()],
    body: UserIn,
    services: ServicesDep,
    pseudonymise: PseudonymiserDep,
) -> UserOut:
    """Create or replace what a shopper declares about itself.

    The shopper keeps exactly the body's attributes (those left out are removed;
    its interactions stay). A shopper the artifact version lacks is served by them
    at once: until its first events, its recommendations are what the version's
    most alike shoppers chose (peer popularity, the order ``kgrec evaluate``
    measures for shoppers without history); after them, they are one of the
    ranker's signals. A shopper the version holds is weighed by its new
    attributes from the next ``kgrec train``. 503, with nothing written, while the
    graph does not answer.
    """
    shopper = pseudonymise(user_id)
    row: UserRow = {"id": shopper, "attrs": dict(body.attributes)}
    counts = services.declare_users([row])
    engine = services.engine
    return UserOut(
        created=counts.created > 0,
        peers=engine.peer_count(shopper),
        artifact_version=engine.version,
    )


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
