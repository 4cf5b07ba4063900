"""The models of the codes app: the releases and their rows (codes.models.releases), and the
Alphabetic Index imported with them (codes.models.index), the POA-exempt lists
(codes.models.poa)."""

from codes.models.index import IndexCodeReference, IndexTerm, ReleaseIndex
from codes.models.poa import PoaExemptCode, PoaList, PoaListChange
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
    "PoaExemptCode",
    "PoaList",
    "PoaListChange",
    "Release",
    "ReleaseBusy",
    "ReleaseIndex",
    "ReleaseQuerySet",
    "Section",
    "SourceFile",
]
