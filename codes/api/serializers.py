"""The shapes of API requests and answers, for the OpenAPI schema and for checking parameters.

Answers are built as plain dicts by codes.api.representations (10,000 validation verdicts
through DRF serializers would cost more than validating them); these classes describe exactly
those dicts, and the schemathesis test holds every answer to them.
"""

import copy

from rest_framework import serializers

from codes import lookup, search, validation
from codes.api import errors
from codes.importer.diff import TALLY_KINDS
from codes.models import CodeChange, Note

REASON_CHOICES = [
    validation.OK,
    validation.HEADER_NOT_BILLABLE,
    validation.MISSING_SEVENTH_CHARACTER,
    validation.INVALID_SEVENTH_CHARACTER,
    validation.MISSING_PLACEHOLDER_X,
    validation.DELETED,
    validation.NOT_IN_RELEASE,
    validation.MALFORMED,
    errors.RELEASE_NOT_FOUND,  # per item: no published release is in force on its date
    errors.RELEASE_NOT_LOADED,  # per item: its date is in a fiscal year not loaded yet
]
HISTORY_EVENTS = [
    lookup.ADDED,
    lookup.DELETED,
    lookup.REVISED,
    lookup.BECAME_HEADER,
    lookup.BECAME_BILLABLE,
]
MATCH_KINDS = [search.EXACT, search.PREFIX, search.WORDS, "list"]
SUCCESSOR_SOURCES = [validation.FROM_CONVERSION_TABLE, validation.FROM_HIERARCHY, ""]


# --- errors


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=errors.ERROR_CODES, help_text="Stable; act on it.")
    message = serializers.CharField(help_text="For people; may change.")
    field = serializers.CharField(
        allow_blank=True, help_text='The parameter or body field concerned ("" when none).'
    )


class SuggestionSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Dotted, canonical (Z53.01).")
    code_undotted = serializers.CharField()
    title = serializers.CharField()


class CodeNotFoundDetailSerializer(ErrorDetailSerializer):
    reason = serializers.ChoiceField(choices=REASON_CHOICES, required=False)
    suggestions = SuggestionSerializer(many=True, required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


class CodeNotFoundSerializer(serializers.Serializer):
    error = CodeNotFoundDetailSerializer()


# --- releases


class ReleaseRefSerializer(serializers.Serializer):
    """The release that answered."""

    label = serializers.CharField()
    fiscal_year = serializers.IntegerField()
    effective_date = serializers.DateField()


class ReleaseCountsSerializer(serializers.Serializer):
    entries = serializers.IntegerField()
    billable = serializers.IntegerField()
    headers = serializers.IntegerField()
    chapters = serializers.IntegerField()
    sections = serializers.IntegerField()
    notes = serializers.IntegerField()


class ReleaseSummarySerializer(ReleaseRefSerializer):
    published_at = serializers.DateTimeField(allow_null=True)
    counts = ReleaseCountsSerializer()
    url = serializers.URLField()


class ReleaseListSerializer(serializers.Serializer):
    release = ReleaseRefSerializer(
        allow_null=True, help_text="The latest published release: the default everywhere."
    )
    count = serializers.IntegerField()
    results = ReleaseSummarySerializer(many=True)


class ChangeCountsSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    deleted = serializers.IntegerField()
    revised = serializers.IntegerField(help_text="The long title changed in words.")
    short_title_only = serializers.IntegerField(
        help_text="Revisions of the short title only (the long one unchanged in words)."
    )
    spacing_only = serializers.IntegerField(
        help_text='Revisions of spacing only ("[BMI]30.0-30.9" -> "[BMI] 30.0-30.9").'
    )


class ChangeSummarySerializer(serializers.Serializer):
    codes = ChangeCountsSerializer(help_text="Billable codes, as CMS tallies them.")
    headers = ChangeCountsSerializer()


COMPARISON_NOTE_HELP = (
    '"" when compared_to is the release just before; else which fiscal years between the two '
    'are not loaded ("compared with FY2017; FY2018–FY2023 are not loaded"): the changes then '
    "add up every year in between."
)


class PoaListSummarySerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    codes = serializers.IntegerField(help_text="Codes exempt from POA reporting.")
    changes = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Added, deleted, revised against the previous year's list (CMS's lists).",
    )


class ReleaseDetailSerializer(ReleaseSummarySerializer):
    release = ReleaseRefSerializer()
    structure = serializers.CharField(
        help_text="tabular: imported with its tabular XML; borrowed: without, its chapters and "
        "sections copied from `structure_from`, no notes; none: without, nothing to borrow from."
    )
    structure_from = ReleaseRefSerializer(allow_null=True)
    compared_to = ReleaseRefSerializer(allow_null=True)
    comparison_note = serializers.CharField(allow_blank=True, help_text=COMPARISON_NOTE_HELP)
    changes = ChangeSummarySerializer()
    addenda_agrees = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the changes agree with CMS's order addenda, code by code (null: "
        "none shipped, or nothing compared).",
    )
    addenda_differences = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Where they differ, each naming its code (empty when they agree).",
    )
    addenda_revisions_counted_apart = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Codes the addenda count as revised that are counted here as short title "
        "only or spacing only (FY2026: W44.G).",
    )
    conversion_table = serializers.BooleanField(
        help_text="Whether CMS's conversion table was imported with the release."
    )
    poa_exempt_list = PoaListSummarySerializer(
        allow_null=True, help_text="CMS's POA-exempt list imported with it; null: not imported."
    )
    links = serializers.DictField(child=serializers.URLField())


# --- codes


class CodeRefSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Dotted, canonical (Z53.01).")
    code_undotted = serializers.CharField()
    title = serializers.CharField()
    billable = serializers.BooleanField()


class CodeSummarySerializer(CodeRefSerializer):
    why = serializers.CharField(
        allow_blank=True,
        help_text="A word search: why it was found (the Index path, an abbreviation, title "
        "words, a corrected spelling); empty otherwise.",
    )
    short_title = serializers.CharField(allow_blank=True)
    kind = serializers.CharField()
    chapter = serializers.IntegerField(allow_null=True)
    section = serializers.CharField(allow_null=True)


class ChapterSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    first_code = serializers.CharField()
    last_code = serializers.CharField()


class SectionSerializer(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    first_code = serializers.CharField()
    last_code = serializers.CharField()


class NoteSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Note.Kind.values)
    kind_label = serializers.CharField()
    text = serializers.CharField()
    origin = serializers.ChoiceField(choices=["code", "section", "chapter"])
    origin_code = serializers.CharField(
        help_text="The dotted code, section id or chapter number the note is written on. A "
        "section is the code's own or a heading section that holds it (V00-V99 holds V40-V49); "
        "inherited notes come nearest first: the codes above, the sections outwards, the chapter."
    )
    inherited = serializers.BooleanField()


class SeventhCharacterSerializer(serializers.Serializer):
    character = serializers.CharField()
    meaning = serializers.CharField()
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text='CMS\'s further wording of this character: 2 "stable" of H34.81, "Old central '
        'retinal vein occlusion".',
    )


class SeventhCharactersSerializer(serializers.Serializer):
    defined_at = serializers.CharField(help_text="The dotted code whose definitions apply.")
    notes = serializers.ListField(child=serializers.CharField())
    characters = SeventhCharacterSerializer(many=True)


POA_EXEMPT_HELP = (
    "In the release's POA-exempt list (CMS's codes exempt from present-on-admission "
    "reporting); null when the release has no POA-exempt list imported."
)
POA_STATUS_CHOICES = ["exempt", "not exempt", "not imported"]


class CodeDetailSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    input = serializers.CharField()
    normalised = serializers.BooleanField(help_text="The input was not the canonical form.")
    code = serializers.CharField()
    code_undotted = serializers.CharField()
    title = serializers.CharField()
    short_title = serializers.CharField(allow_blank=True)
    billable = serializers.BooleanField()
    kind = serializers.CharField()
    exists = serializers.BooleanField()
    poa_exempt = serializers.BooleanField(allow_null=True, help_text=POA_EXEMPT_HELP)
    poa_exempt_status = serializers.ChoiceField(choices=POA_STATUS_CHOICES)
    chapter = ChapterSerializer(allow_null=True)
    section = SectionSerializer(allow_null=True)
    parent = CodeRefSerializer(allow_null=True)
    ancestors = CodeRefSerializer(many=True, help_text="The category first.")
    children = CodeRefSerializer(many=True)
    descendant_count = serializers.IntegerField()
    billable_descendant_count = serializers.IntegerField()
    billable_below = CodeRefSerializer(
        many=True, help_text="For a header: the billable codes to use instead (first 100)."
    )
    notes_available = serializers.BooleanField(
        help_text="False for a release imported without its tabular XML: `notes` is then null, "
        "not an empty list, and `structure_from` names the release whose notes to read."
    )
    structure_from = ReleaseRefSerializer(
        allow_null=True,
        help_text="The release whose chapters and sections a release imported without its "
        "tabular XML shows; null otherwise.",
    )
    notes = NoteSerializer(
        many=True, allow_null=True, help_text="Own notes first, then inherited ones."
    )
    seventh_characters = SeventhCharactersSerializer(allow_null=True)


class QuerySerializer(serializers.Serializer):
    """The query parameters of a GET: flat fields (no nested serializer, no child field).

    DRF deep-copies a serializer's declared fields for every instance it makes: 62 µs of the
    92 µs an autocomplete's two parameters took to check (measured), on every answer not kept.
    A flat field holds nothing a check changes but what bind() sets on it (its name, parent,
    label), so each instance gets shallow copies of them."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class SearchQuerySerializer(QuerySerializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    prefix = serializers.RegexField(
        r"^[A-Za-z][0-9A-Za-z]{0,2}(\.?[0-9A-Za-z]{0,4})?$", required=False, allow_blank=True
    )
    billable = serializers.BooleanField(required=False, allow_null=True, default=None)
    chapter = serializers.IntegerField(required=False, min_value=1, max_value=99)
    page = serializers.IntegerField(required=False, min_value=1, max_value=100_000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)


class CodeListSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    match = serializers.ChoiceField(
        choices=MATCH_KINDS,
        help_text="exact: one code; prefix: codes starting so, in tabular order; words: ranked "
        "as a coder would (the Alphabetic Index first, then titles); list: no query, the "
        "release in tabular order.",
    )
    notes = serializers.ListField(
        child=serializers.CharField(),
        help_text="What a word search says of itself: a corrected spelling, Index terms read "
        "from another release (mapped to this one).",
    )
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CodeSummarySerializer(many=True)


class AutocompleteQuerySerializer(QuerySerializer):
    q = serializers.CharField(max_length=100, allow_blank=True)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=25, default=10)


class AutocompleteResultSerializer(CodeRefSerializer):
    why = serializers.CharField(allow_blank=True, help_text="Why it was found (words only).")


class AutocompleteSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    results = AutocompleteResultSerializer(many=True)
    message = serializers.CharField(
        allow_blank=True, help_text="When nothing matches: says so, for the search box."
    )


class HistoryRowSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    present = serializers.BooleanField()
    billable = serializers.BooleanField(allow_null=True)
    title = serializers.CharField(allow_blank=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=HISTORY_EVENTS))
    old_title = serializers.CharField(allow_blank=True, help_text="Before a revision.")


class HistorySerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    input = serializers.CharField()
    normalised = serializers.BooleanField()
    code = serializers.CharField()
    code_undotted = serializers.CharField()
    history = HistoryRowSerializer(
        many=True, help_text="One row per published release, oldest first."
    )


# --- validation


class ValidateItemSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=100, allow_blank=True)
    date = serializers.DateField(
        required=False, allow_null=True, help_text="Date of service: picks the release in force."
    )


class ValidateRequestSerializer(serializers.Serializer):
    codes = serializers.ListField(
        child=serializers.CharField(max_length=100, allow_blank=True),
        required=False,
        max_length=10_000,
        help_text="Codes to check against one release (give `codes` or `items`).",
    )
    items = ValidateItemSerializer(
        many=True, required=False, help_text="Codes each with an optional date of service."
    )
    release = serializers.CharField(required=False, help_text="Release label, for every item.")
    date = serializers.DateField(required=False, help_text="Date of service, for every item.")
    fy = serializers.CharField(required=False, help_text="Fiscal year (2026), for every item.")


class VerdictSerializer(serializers.Serializer):
    input = serializers.CharField(allow_blank=True)
    code = serializers.CharField(allow_blank=True, help_text='Dotted; "" when malformed.')
    code_undotted = serializers.CharField(allow_blank=True)
    normalised = serializers.BooleanField()
    exists = serializers.BooleanField(help_text="In the release, as a header or a billable code.")
    billable = serializers.BooleanField()
    reason = serializers.ChoiceField(choices=REASON_CHOICES)
    message = serializers.CharField()
    suggestions = SuggestionSerializer(many=True)
    seventh_characters = SeventhCharacterSerializer(many=True)
    poa_exempt = serializers.BooleanField(allow_null=True, help_text=POA_EXEMPT_HELP)
    poa_exempt_status = serializers.ChoiceField(choices=POA_STATUS_CHOICES)
    release = ReleaseRefSerializer(allow_null=True)
    date = serializers.DateField(allow_null=True)


class ValidateResponseSerializer(serializers.Serializer):
    release = ReleaseRefSerializer(help_text="The release for items without a date.")
    count = serializers.IntegerField()
    valid = serializers.IntegerField(help_text="How many items are ok.")
    summary = serializers.DictField(child=serializers.IntegerField(), help_text="Items by reason.")
    results = VerdictSerializer(many=True)


# --- changes and downloads


class ChangeSerializer(serializers.Serializer):
    code = serializers.CharField()
    code_undotted = serializers.CharField()
    change = serializers.ChoiceField(choices=CodeChange.Change.values)
    kind = serializers.ChoiceField(
        choices=TALLY_KINDS,
        help_text="The tally it counts in: the change, or for a revision revised (the long "
        "title changed in words), short_title_only or spacing_only.",
    )
    billable = serializers.BooleanField(help_text="Which of CMS's tallies: codes or headers.")
    old_title = serializers.CharField(allow_blank=True)
    new_title = serializers.CharField(allow_blank=True)
    old_short_title = serializers.CharField(allow_blank=True)
    new_short_title = serializers.CharField(allow_blank=True)
    successors = SuggestionSerializer(many=True, help_text="For a deleted code.")
    successors_source = serializers.ChoiceField(choices=SUCCESSOR_SOURCES)


class ChangesQuerySerializer(QuerySerializer):
    type = serializers.ChoiceField(choices=CodeChange.Change.values, required=False)
    billable = serializers.BooleanField(required=False, allow_null=True, default=None)


class ChangeListSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    compared_to = ReleaseRefSerializer(allow_null=True)
    comparison_note = serializers.CharField(allow_blank=True, help_text=COMPARISON_NOTE_HELP)
    summary = ChangeSummarySerializer()
    count = serializers.IntegerField()
    results = ChangeSerializer(many=True)


class DownloadCodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    code_undotted = serializers.CharField()
    billable = serializers.BooleanField()
    short_title = serializers.CharField(allow_blank=True)
    title = serializers.CharField()
    parent = serializers.CharField(allow_null=True)
    chapter = serializers.IntegerField(allow_null=True)
    section = serializers.CharField(allow_null=True)
    sequence = serializers.IntegerField()


class DownloadSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    codes = DownloadCodeSerializer(many=True)
