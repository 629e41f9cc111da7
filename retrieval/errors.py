"""Errors meant for the user: the CLI prints them as one line, the bot as an ephemeral reply.

Anything that is not a DeskError is a bug: it is logged with its traceback instead.
"""


class DeskError(Exception):
    """An expected failure with a message a user can act on."""


class InputError(DeskError):
    """A file, URL or record that cannot be ingested; names the input and the reason."""

    def __init__(self, ref: str, reason: str, line: int | None = None, column: int | None = None):
        self.ref, self.reason, self.line, self.column = ref, reason, line, column
        where = ref
        if line is not None:
            where += f": line {line}"
            if column is not None:
                where += f", column {column}"
        super().__init__(f"{where}: {reason}")


class KnowledgeBaseUnavailable(DeskError):
    """Chroma cannot be reached (a server that is down or restarting)."""

    def __init__(self, detail: str = ""):
        self.detail = detail
        super().__init__("The knowledge base is unavailable, try again shortly." + (f" ({detail})" if detail else ""))


class NotFound(DeskError):
    """A document, country or month the knowledge base does not hold."""
