"""The models of the codes app: the releases and their rows (codes.models.releases), and the
Alphabetic Index imported with them (codes.models.index)."""

from codes.models.index import IndexCodeReference, IndexTerm, ReleaseIndex
from codes.models.releases import (
    AuditEvent,
    Chapter,
    Code,
    CodeChange,
    CodeQuerySet,
    ConversionEntry,
    ImportInProgress,
    ImportRun,
    ImportRunQuerySet,
    Note,
    Release,
    ReleaseBusy,
    ReleaseQuerySet,
    Section,
    SourceFile,
)

__all__ = [
    "AuditEvent",
    "Chapter",
    "Code",
    "CodeChange",
    "CodeQuerySet",
    "ConversionEntry",
    "ImportInProgress",
    "ImportRun",
    "ImportRunQuerySet",
    "IndexCodeReference",
    "IndexTerm",
    "Note",
    "Release",
    "ReleaseBusy",
    "ReleaseIndex",
    "ReleaseQuerySet",
    "Section",
    "SourceFile",
]
