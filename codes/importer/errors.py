"""The one error every importer stage raises: it names the file, and the line or element."""


class ImportFileError(Exception):
    """A file (or a member of a zip) cannot be imported as it is.

    `file` is the name as the operator gave it (for a zip member: "outer.zip:member.txt"),
    `line` the 1-based line in that file, `element` the XML element or the code concerned.
    """

    def __init__(
        self, message: str, *, file: str = "", line: int | None = None, element: str = ""
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.element = element
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
