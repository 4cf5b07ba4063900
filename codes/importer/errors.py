"""The one error every importer stage raises: it names the file, and the line or element."""

# A refusal quotes what it refuses, but never all of it: a 600 KB title must not land whole in
# the run's messages, the admin page and the audit.
MAX_MESSAGE = 1000
MAX_NAME = 300


def excerpt(text: str, limit: int) -> str:
    """The text, or its start and end around the number of characters left out."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 4
    return f"{text[:head]} […{len(text) - head - tail:,} characters…] {text[-tail:]}"


class ImportFileError(Exception):
    """A file (or a member of a zip) cannot be imported as it is.

    `file` is the name as the operator gave it (for a zip member: "outer.zip:member.txt"),
    `line` the 1-based line in that file, `element` the XML element or the code concerned.
    """

    def __init__(
        self, message: str, *, file: str = "", line: int | None = None, element: str = ""
    ) -> None:
        self.message = excerpt(message, MAX_MESSAGE)
        self.file = excerpt(file, MAX_NAME)
        self.line = line
        self.element = excerpt(element, MAX_NAME)
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where = f"{where}, line {self.line}" if where else f"line {self.line}"
        if self.element:
            where = f"{where}, {self.element}" if where else self.element
        return f"{where}: {self.message}" if where else self.message


class ReleaseNotStored(ImportFileError):
    """The files were fine but the database failed while storing them; the transaction rolled
    back, so nothing of the release is visible. `connection_lost`: the server went away (the
    same files may well go in once it is back), rather than refusing the rows."""

    def __init__(self, message: str, *, connection_lost: bool = False) -> None:
        super().__init__(message)
        self.connection_lost = connection_lost
