"""Find the members of a release by role in what the operator hands over (zips, txt, xml).

Pure: names and bytes in, frozen dataclasses out; nothing here touches Django.
"""

import contextlib
import datetime
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from codes.importer import index_xml, poa
from codes.importer.errors import ImportFileError

ORDER = "order"
CODES = "codes"
ORDER_ADDENDA = "order_addenda"
CODES_ADDENDA = "codes_addenda"
TABULAR = "tabular"
CONVERSION_TABLE = "conversion_table"
# The files of a POA-exempt list (list, its changes, ReadMe): several per upload, told apart by
# codes.importer.poa.
POA = "poa"
# One role per part of the Alphabetic Index: "index_diseases", "index_drugs", ...
INDEX_ROLES = {part: f"index_{part}" for part in index_xml.PARTS}


@dataclass(frozen=True)
class SourceFile:
    """A file as the operator gave it (a zip counts as one file)."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Member:
    """One file with a role, taken from an upload or from inside a zip."""

    role: str
    name: str  # "outer.zip:folder/member.txt" for a zip member, else the file name
    data: bytes


@dataclass(frozen=True)
class ReleaseSources:
    files: tuple[SourceFile, ...]
    members: dict[str, Member]  # role -> member; each role at most once
    poa_members: tuple[Member, ...]  # the files of a POA-exempt list, if given
    fiscal_year: int | None  # detected from names; None when no name carries it
    effective_date: datetime.date | None
    ignored: tuple[str, ...]  # names passed over (PDFs, XSDs...)

    def get(self, role: str) -> Member | None:
        return self.members.get(role)

    @property
    def index_members(self) -> dict[str, Member]:
        """part -> the Index XML file given for it."""
        return {
            part: self.members[role] for part, role in INDEX_ROLES.items() if role in self.members
        }

    @property
    def has_release_files(self) -> bool:
        """Files that say which codes exist (or carry the release's other data), not only an
        Index."""
        return any(role not in INDEX_ROLES.values() for role in self.members)


_ROLE_LABELS = {
    ORDER: "order file",
    CODES: "codes file",
    ORDER_ADDENDA: "order addenda file",
    CODES_ADDENDA: "codes addenda file",
    TABULAR: "tabular XML",
    CONVERSION_TABLE: "conversion table",
    POA: "POA-exempt list file",
    **{role: f"{index_xml.PART_NAMES[part]} XML" for part, role in INDEX_ROLES.items()},
}
_TEXT_ROLES = (ORDER, CODES, ORDER_ADDENDA, CODES_ADDENDA)
# Where the effective date is read from, best first: the tabular XML is often a later (April)
# printing shipped with an October order file, so it only counts when nothing else says.
_DATE_ROLES = (ORDER, CODES, ORDER_ADDENDA, CODES_ADDENDA, TABULAR)

# Limits. The real CMS zips hold 6-9 members of at most 15 MB that compress about 10:1; a whole
# release (order, codes, addenda, tabular XML, the four Index parts) unpacks to about 60 MB.
_MB = 1024 * 1024
_MAX_MEMBERS = 200  # in all the zips of one upload
# What a zip's directory may claim at all (members without a role are never unpacked).
_MAX_MEMBER_BYTES = 300 * _MB
_MAX_TOTAL_BYTES = 600 * _MB
# What is unpacked: each file with a role, and all of them in one upload together.
_MAX_FILE_BYTES = 64 * _MB
_MAX_UPLOAD_BYTES = 160 * _MB
_MAX_RATIO = 200
# Below this size a high ratio cannot hurt, and small repetitive files do compress very well.
_RATIO_FLOOR_BYTES = 1 * _MB
_READ_CHUNK = 1 * _MB

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a member first; an empty zip is only its end record
_UTF8_BOM = b"\xef\xbb\xbf"

# A name that mentions PCS as a word of its own: icd10pcs_order_2025.txt, ICD-10-PCS Tables.xml.
_PCS = re.compile(r"(?<![a-z])pcs(?![a-z])")
# [0-9], not \d: \d also matches digits like "٢", which int() reads as 2.
_APRIL = re.compile(r"apr(?:il)?[^a-z0-9]*(?:0?1(?:st)?[^a-z0-9]+)?(20[0-9]{2})(?![0-9])")
_JANUARY = re.compile(r"jan(?:uary)?[^a-z0-9]*(?:0?1(?:st)?[^a-z0-9]+)?(20[0-9]{2})(?![0-9])")
_FISCAL_YEAR = re.compile(r"fy[^a-z0-9]?(20[0-9]{2}|[0-9]{2})(?![0-9])")
_BARE_YEAR = re.compile(r"(?<![0-9])(20[0-9]{2})(?![0-9])")


@dataclass(frozen=True)
class _Found:
    member: Member
    # Names that may carry the release date, best first: member, its folders, the outer zip.
    date_names: tuple[str, ...]


@dataclass(frozen=True)
class _Candidate:
    """A file with a role, known from its name, its zip's directory and its first bytes, and
    not unpacked yet."""

    role: str
    name: str
    date_names: tuple[str, ...]
    size: int  # as the zip's directory claims it (or the file's own)
    read: Callable[[int], bytes]  # its bytes; refuses more than the given number


def read_sources(files: Sequence[tuple[str, bytes]]) -> ReleaseSources:
    """Identify each upload by content, unpack zips safely and pick each role's member.

    Every role is known, and every clash between files refused, from names, zip directories
    and first bytes before anything is unpacked; then only the files with a role are, within
    one budget for the whole upload. Raises ImportFileError naming the file (and zip member)
    for anything it cannot accept.
    """
    if not files:
        raise ImportFileError("no files were given")
    sources: list[SourceFile] = []
    candidates: list[_Candidate] = []
    ignored: list[str] = []
    with contextlib.ExitStack() as open_zips:
        members = 0
        for name, data in files:
            base = _base_name(name)
            sources.append(
                SourceFile(name=base, sha256=hashlib.sha256(data).hexdigest(), size=len(data))
            )
            if _is_zip(data):
                archive = _open_zip(base, data)
                open_zips.enter_context(archive)
                members += len(archive.infolist())
                if members > _MAX_MEMBERS:
                    raise ImportFileError(
                        f"the zips of this upload hold {members} members, more than "
                        f"the {_MAX_MEMBERS} a release can have",
                        file=base,
                    )
                zip_candidates, zip_ignored = _zip_candidates(base, data, archive)
                candidates.extend(zip_candidates)
                ignored.extend(zip_ignored)
                continue
            candidate = _file_candidate(base, data)
            if candidate is None:
                ignored.append(base)
            else:
                candidates.append(candidate)

        if not candidates:
            raise ImportFileError(
                "none of the files is an ICD-10-CM order, codes, addenda, tabular XML, Index "
                "XML, conversion table or POA-exempt list file (got: "
                f"{_list_names([s.name for s in sources])})"
            )
        _one_file_per_role(candidates)
        claimed = sum(candidate.size for candidate in candidates)
        if claimed > _MAX_UPLOAD_BYTES:
            raise ImportFileError(
                f"the files of this upload would unpack to {claimed // _MB} MB, more than the "
                f"{_MAX_UPLOAD_BYTES // _MB} MB a release can take; refused"
            )
        found = []
        left = _MAX_UPLOAD_BYTES
        for candidate in candidates:
            data = candidate.read(left)
            left -= len(data)
            _check_content(candidate.role, data, where=candidate.name)
            member = Member(role=candidate.role, name=candidate.name, data=data)
            found.append(_Found(member, candidate.date_names))

    fiscal_year, effective_date = _release_date(found)
    return ReleaseSources(
        files=tuple(sources),
        members={item.member.role: item.member for item in found if item.member.role != POA},
        poa_members=tuple(item.member for item in found if item.member.role == POA),
        fiscal_year=fiscal_year,
        effective_date=effective_date,
        ignored=tuple(ignored),
    )


def _file_candidate(base: str, data: bytes) -> _Candidate | None:
    """A file given as it is (not a zip): its role, or None for a file to pass over."""
    if base.lower().endswith((".zip", ".xlsx")):
        raise ImportFileError(
            f"has a .{base.rsplit('.', 1)[-1].lower()} name but is not a zip file "
            "(it may be damaged, or another file renamed)",
            file=base,
        )
    if data.startswith(b"%PDF"):
        return None
    role = _xml_role(data, where=base) if _looks_like_xml(data) else None
    role = role or _role_of(base, where=base)
    if role is None and not _looks_like_xml(data) and poa.file_part(data[:_SNIFFED_BYTES]):
        role = POA
    if role is None:
        if not _looks_like_xml(data):
            _check_text(data, where=base)  # refuse a binary file whatever its name
        return None

    def read(left: int) -> bytes:
        if len(data) > min(left, _MAX_FILE_BYTES):
            raise _too_large(base, left)
        return data

    return _Candidate(role, base, (base,), len(data), read)


def _too_large(where: str, left: int) -> ImportFileError:
    if left < _MAX_FILE_BYTES:
        return ImportFileError(
            f"the files of this upload unpack to more than the {_MAX_UPLOAD_BYTES // _MB} MB "
            "a release can take; refused",
            file=where,
        )
    return ImportFileError(
        f"is more than the {_MAX_FILE_BYTES // _MB} MB one file of a release can be; refused",
        file=where,
    )


def detect_release_date(name: str) -> tuple[int, datetime.date | None] | None:
    """The fiscal year and, when the name says, the effective date a file name carries.

    "icd10cm-order-April-2025.txt" -> (2025, 2025-04-01); "icd10cm_order_2025.txt" -> (2025,
    2024-10-01); "...FY26..." -> (2026, None); no year at all -> None.
    """
    lower = name.lower()
    if match := _APRIL.search(lower):
        year = int(match.group(1))
        return year, datetime.date(year, 4, 1)
    if match := _JANUARY.search(lower):
        year = int(match.group(1))
        return year, datetime.date(year, 1, 1)
    if match := _FISCAL_YEAR.search(lower):
        digits = match.group(1)
        # "FY26" alone says nothing about October or April.
        return (2000 + int(digits) if len(digits) == 2 else int(digits)), None
    if match := _BARE_YEAR.search(lower):
        # A plain year names the fiscal year, which starts on October 1 of the year before.
        year = int(match.group(1))
        return year, datetime.date(year - 1, 10, 1)
    return None


def _role_of(base: str, *, where: str) -> str | None:
    """The role a file's base name gives it, or None; refuses ICD-10-PCS files."""
    lower = base.lower()
    stem, dot, extension = lower.rpartition(".")
    if not dot:
        stem, extension = lower, ""
    if extension in ("txt", "xml") and _PCS.search(lower):
        raise ImportFileError(
            "is an ICD-10-PCS (procedure code) file, not ICD-10-CM: upload the ICD-10-CM files",
            file=where,
        )
    # Separators vary (_ - space) and so does case, so compare letters and digits only.
    compact = re.sub(r"[^a-z0-9]", "", stem)
    # The POA-exempt lists also say "codes", hence icd10cm is required for the text files.
    if extension == "txt" and "icd10cm" in compact:
        if "addenda" in compact:
            if "order" in compact:
                return ORDER_ADDENDA
            if "code" in compact:
                return CODES_ADDENDA
            return None
        if "order" in compact:
            return ORDER
        if "codes" in compact:
            return CODES
    if extension == "xml" and "tabular" in compact:
        return TABULAR
    if extension == "xlsx" and "conversion" in compact:
        return CONVERSION_TABLE
    return None


def _open_zip(outer: str, data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
        raise ImportFileError(
            f"is not a readable zip file; it may be damaged or cut short ({exc})", file=outer
        ) from exc


def _zip_candidates(
    outer: str, data: bytes, archive: zipfile.ZipFile
) -> tuple[list[_Candidate], list[str]]:
    # An .xlsx is a zip too; it is one file to the operator, never a folder of members.
    if "[Content_Types].xml" in archive.namelist():
        if "conversion" not in outer.lower():
            return [], [outer]

        def read(left: int) -> bytes:
            if len(data) > min(left, _MAX_FILE_BYTES):
                raise _too_large(outer, left)
            return data

        return [_Candidate(CONVERSION_TABLE, outer, (outer,), len(data), read)], []

    infos = archive.infolist()
    _check_zip_layout(outer, infos)
    candidates: list[_Candidate] = []
    ignored: list[str] = []
    for info in infos:
        if info.is_dir():
            continue
        where = f"{outer}:{info.filename}"
        folder, _, base = info.filename.replace("\\", "/").rpartition("/")
        role = _role_of(base, where=where)
        if base.lower().endswith(".xml"):
            # XML members are told apart by content (Index files have no stable names): by
            # their first bytes, unpacked alone.
            head = _read_member(archive, info, where=where, limit=_SNIFFED_BYTES, whole=False)
            role = _xml_role(head, where=where) or role
        if role is None and base.lower().endswith(".txt"):
            # The POA-exempt lists' names vary by year: their first line says what they are.
            head = _read_member(archive, info, where=where, limit=_SNIFFED_BYTES, whole=False)
            role = POA if poa.file_part(head) else None
        if role is None:
            ignored.append(where)
            continue
        folders = tuple(reversed([part for part in folder.split("/") if part]))

        def read(left: int, info=info, where=where) -> bytes:
            return _read_member(archive, info, where=where, limit=left)

        candidates.append(_Candidate(role, where, (base, *folders, outer), info.file_size, read))
    if not candidates:
        names = [info.filename for info in infos if not info.is_dir()]
        if not names:
            raise ImportFileError("is an empty zip file", file=outer)
        raise ImportFileError(
            "holds no ICD-10-CM order, codes, addenda, tabular XML, Index XML or POA-exempt "
            "list file "
            f"(it holds: {_list_names(names)})",
            file=outer,
        )
    return candidates, ignored


def _check_zip_layout(outer: str, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse a zip by its directory alone, before inflating anything.

    The sizes here are the zip's own claims; _read_member does not trust them.
    """
    total = 0
    for info in infos:
        where = f"{outer}:{info.filename}"
        parts = re.split(r"[/\\]", info.filename)
        # We never write members to disk, but a zip built to escape its folder is not a release.
        if info.filename.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", info.filename):
            raise ImportFileError("has an absolute path inside the zip; refused", file=where)
        if ".." in parts:
            raise ImportFileError(
                "has a path that climbs out of the zip ('..'); refused", file=where
            )
        if info.is_dir():
            continue
        if parts[-1].lower().endswith(".zip"):
            raise ImportFileError(
                "is a nested zip, which is not supported: unpack it and upload the inner files",
                file=where,
            )
        if info.file_size > _MAX_MEMBER_BYTES:
            raise ImportFileError(
                f"would unpack to {info.file_size // _MB} MB, more than the "
                f"{_MAX_MEMBER_BYTES // _MB} MB allowed for one file",
                file=where,
            )
        if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > _MAX_RATIO * info.compress_size:
            raise ImportFileError(
                f"is compressed more than {_MAX_RATIO}:1 ({info.compress_size} bytes unpack to "
                f"{info.file_size} bytes), which is how a zip bomb looks; refused",
                file=where,
            )
        total += info.file_size
        if total > _MAX_TOTAL_BYTES:
            raise ImportFileError(
                f"would unpack to more than {_MAX_TOTAL_BYTES // _MB} MB in all; refused",
                file=outer,
            )


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, where: str, limit: int, whole=True
) -> bytes:
    """A member's bytes: all of them (refused beyond `limit`, the file's own cap or what its
    compressed size allows), or with `whole` false its first `limit` bytes only."""
    if info.flag_bits & 0x1:
        raise ImportFileError(
            "is encrypted (password-protected); upload an unencrypted copy", file=where
        )
    try:
        with archive.open(info) as stream:
            if not whole:
                return stream.read(limit)
            # The header's sizes may lie, so bound what we inflate by our own limits.
            by_ratio = max(_RATIO_FLOOR_BYTES, _MAX_RATIO * info.compress_size)
            if by_ratio < min(limit, _MAX_FILE_BYTES):
                return _read_capped(stream, limit=by_ratio, where=where)
            try:
                return _read_capped(stream, limit=min(limit, _MAX_FILE_BYTES), where=where)
            except ImportFileError:
                raise _too_large(where, limit) from None
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,
        NotImplementedError,
    ) as exc:
        raise ImportFileError(
            f"cannot be unpacked; the zip may be damaged or cut short ({exc})", file=where
        ) from exc


def _read_capped(stream: IO[bytes], *, limit: int, where: str) -> bytes:
    """Read at most limit + 1 bytes, refusing when the stream holds more than limit."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            raise ImportFileError(
                f"unpacks to more than {limit} bytes, more than its compressed size allows "
                "(a zip bomb or a damaged zip); refused",
                file=where,
            )
        chunks.append(chunk)


def _check_content(role: str, data: bytes, *, where: str) -> None:
    """Check that the content matches what the name promised."""
    label = _ROLE_LABELS[role]
    if not data.strip():
        raise ImportFileError(f"is empty, but its name says it is the {label}", file=where)
    if role == CONVERSION_TABLE:
        if not _is_zip(data):
            raise ImportFileError(
                "is not an Excel (.xlsx) file, but its name says it is the conversion table",
                file=where,
            )
        return
    if _is_zip(data):
        raise ImportFileError(
            "is a nested zip, which is not supported: unpack it and upload the inner files",
            file=where,
        )
    if role == TABULAR or role in INDEX_ROLES.values():
        if not _looks_like_xml(data):
            raise ImportFileError(f"is not XML, but its name says it is the {label}", file=where)
        return
    if _looks_like_xml(data):
        raise ImportFileError(f"is XML, but its name says it is the {label}", file=where)
    _check_text(data, where=where)


def _check_text(data: bytes, *, where: str) -> None:
    if b"\x00" in data:
        line = data.count(b"\n", 0, data.index(b"\x00")) + 1
        raise ImportFileError(
            "is a binary file, not text (it holds NUL bytes)", file=where, line=line
        )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ImportFileError(
            f"is a binary file or in an unknown encoding, not ASCII/UTF-8 text "
            f"(byte 0x{data[exc.start]:02x})",
            file=where,
            line=line,
        ) from exc


def _one_file_per_role(candidates: list[_Candidate]) -> None:
    first: dict[str, str] = {}
    for candidate in candidates:
        if candidate.role == POA:
            continue  # several files make one list: codes.importer.poa checks them
        if candidate.role in first:
            raise ImportFileError(
                f"two {_ROLE_LABELS[candidate.role]}s were given, {first[candidate.role]} and "
                f"{candidate.name}: upload the files of one release only",
                file=candidate.name,
            )
        first[candidate.role] = candidate.name


def _release_date(found: list[_Found]) -> tuple[int | None, datetime.date | None]:
    # An Index added to a release may be another year's (the operator says so explicitly, and
    # its <version> is checked then); its name only counts when nothing else says.
    release_files = [item for item in found if item.member.role not in INDEX_ROLES.values()]
    found = release_files or found
    detected: dict[str, tuple[str, tuple[int, datetime.date | None]]] = {}  # role -> (name, date)
    first: tuple[str, int] | None = None
    for item in found:
        for name in item.date_names:
            release = detect_release_date(name)
            if release is None:
                continue
            fiscal_year = release[0]
            if first is None:
                first = (item.member.name, fiscal_year)
            elif fiscal_year != first[1]:
                raise ImportFileError(
                    f"files of two fiscal years: {first[0]} says FY{first[1]}, "
                    f"{item.member.name} says FY{fiscal_year}",
                    file=item.member.name,
                )
            detected[item.member.role] = (item.member.name, release)
            break
    if first is None:
        return None, None
    for role in _DATE_ROLES:
        if role in detected and detected[role][1][1] is not None:
            return first[1], detected[role][1][1]
    return first[1], None


# How an XML file is told apart: its root element, an Index's title or first column heading,
# all within its first bytes.
_ELEMENT_NAME_RE = re.compile(rb"<([A-Za-z_][\w.:-]{0,100})")
_INDEX_TITLE_RE = re.compile(rb"<title>\s*([^<]{1,300}?)\s*</title>")
_INDEX_HEADING_RE = re.compile(rb"<head\s+col=[\"']1[\"']\s*>\s*([^<]{1,300}?)\s*</head>")
_SNIFFED_BYTES = 65536


def _xml_role(data: bytes, *, where: str) -> str | None:
    """TABULAR or an Index role from an XML file's root element (and, for an Index, its title
    or first column heading); None for any other XML."""
    head = data[:_SNIFFED_BYTES]
    root = _first_element(head)
    if root == b"ICD10CM.tabular":
        return TABULAR
    if root != index_xml.ROOT_TAG.encode():
        return None
    title = _INDEX_TITLE_RE.search(head)
    heading = _INDEX_HEADING_RE.search(head)
    part = index_xml.part_of(
        title.group(1).decode("utf-8", "replace") if title else "",
        heading.group(1).decode("utf-8", "replace") if heading else "",
    )
    if part is None:
        raise ImportFileError(
            "is an ICD-10-CM Index XML, but neither a <title> nor a first column heading near "
            "its start says which part it is (Index to Diseases and Injuries, External Cause "
            "Index, Table of Drugs and Chemicals, Neoplasm Table)",
            file=where,
        )
    return INDEX_ROLES[part]


def _first_element(head: bytes) -> bytes | None:
    """The name of the first element, past the XML declaration, comments and whitespace (a
    plain scan: a regex with nested repetition would backtrack on a hostile head)."""
    at = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    while True:
        while at < len(head) and head[at : at + 1].isspace():
            at += 1
        # A DOCTYPE is refused by the parser, naming the file: here it is only stepped over.
        doctype_end = b"]>" if head.find(b"[", at, head.find(b">", at)) != -1 else b">"
        for opening, closing in ((b"<?", b"?>"), (b"<!--", b"-->"), (b"<!DOCTYPE", doctype_end)):
            if head.startswith(opening, at):
                end = head.find(closing, at + len(opening))
                if end == -1:
                    return None
                at = end + len(closing)
                break
        else:
            match = _ELEMENT_NAME_RE.match(head, at)
            return match.group(1) if match else None


def _is_zip(data: bytes) -> bool:
    return data[:4] in _ZIP_MAGICS


def _looks_like_xml(data: bytes) -> bool:
    head = data[:4096]
    if head.startswith(_UTF8_BOM):
        head = head[len(_UTF8_BOM) :]
    return head.lstrip().startswith(b"<")


def _base_name(name: str) -> str:
    # Browsers and Windows tools may send a path; either separator may appear.
    return re.split(r"[/\\]", name)[-1] or name


def _list_names(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    if len(names) > limit:
        shown += f" and {len(names) - limit} more"
    return shown
