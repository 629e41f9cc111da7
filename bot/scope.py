"""Guild scopes, one rule for the bot and the CLI: documents ingested from a server (or with
`--guild`) are that server's; the rest are shared. A scope sees the shared documents and its
own, and may forget only its own."""

from __future__ import annotations

from retrieval.errors import DeskError
from retrieval.store import owner_of, visible_to

ALL = object()  # the command line without --guild: the operator sees and forgets everything


def documents_in_scope(kb, guild_id) -> list[dict]:
    docs = kb.list_documents()
    if guild_id is ALL:
        return docs
    return [d for d in docs if visible_to(d, guild_id)]


def forget_in_scope(
    kb, doc_id: str, guild_id, unknown: str = "No document with id {id!r}; /sources lists them."
) -> None:
    """Forget a document the scope owns; anything else is answered as unknown, so a server
    learns nothing about another server's documents."""
    doc = kb.get_document(doc_id)
    owned = doc is not None and (guild_id is ALL or owner_of(doc) == guild_id)
    if not owned:
        if doc is not None and guild_id is not ALL and owner_of(doc) is None:
            raise DeskError(f"{doc_id!r} is shared by every server; it can be forgotten from the command line only.")
        raise DeskError(unknown.format(id=doc_id))
    kb.forget(doc_id)
