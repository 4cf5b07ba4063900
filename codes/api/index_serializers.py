"""The shapes of the Alphabetic Index answers (codes.api.index_representations builds them)."""

from rest_framework import serializers

from codes.api.serializers import CodeDetailSerializer, QuerySerializer, ReleaseRefSerializer
from codes.importer.index_xml import PARTS
from codes.models import IndexCodeReference, IndexTerm


class IndexQuerySerializer(QuerySerializer):
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Words of a term (all required); empty: the main terms in Index order.",
    )
    part = serializers.ChoiceField(choices=PARTS, required=False)
    page = serializers.IntegerField(required=False, min_value=1, max_value=100_000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)


class PageQuerySerializer(QuerySerializer):
    page = serializers.IntegerField(required=False, min_value=1, max_value=100_000, default=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500, default=100)


class IndexTermRefSerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=PARTS)
    id = serializers.IntegerField(help_text="The term's position in its part's file.")
    path = serializers.ListField(
        child=serializers.CharField(), help_text="Its main term first, the term itself last."
    )
    url = serializers.URLField()


class IndexCodeSerializer(serializers.Serializer):
    column = serializers.CharField(
        help_text='"code", "manifestation", "see category", or a table\'s column heading.'
    )
    printed = serializers.CharField(help_text='As in the Index: "I63.9-" needs more characters.')
    code = serializers.CharField(allow_null=True, help_text="Dotted; null when not a code.")
    code_undotted = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=IndexCodeReference.Status.values)
    exists = serializers.BooleanField(help_text="A code (or header) of the release.")


class IndexReferenceSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="As printed: Infarct, myocardium.")
    status = serializers.ChoiceField(choices=IndexTerm.See.values)
    part = serializers.ChoiceField(choices=PARTS, allow_null=True)
    target = IndexTermRefSerializer(
        allow_null=True, help_text="The term it leads to (null: the part itself, or not found)."
    )


class IndexTermSerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=PARTS)
    id = serializers.IntegerField()
    level = serializers.IntegerField(help_text="0 for a main term.")
    letter = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    nemod = serializers.CharField(allow_blank=True, help_text="Non-essential modifiers.")
    suffix = serializers.CharField(allow_blank=True)
    name = serializers.CharField(help_text="As printed, the non-essential modifiers included.")
    path = serializers.ListField(child=serializers.CharField())
    codes = IndexCodeSerializer(many=True)
    see = IndexReferenceSerializer(allow_null=True)
    see_also = IndexReferenceSerializer(allow_null=True)
    url = serializers.URLField()
    page_url = serializers.URLField()


class IndexSubtermSerializer(IndexTermSerializer):
    depth = serializers.IntegerField(help_text="Levels below the term asked for.")
    parent = serializers.IntegerField(help_text="The id of the term above it.")


class IndexSearchSerializer(serializers.Serializer):
    release = ReleaseRefSerializer()
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = IndexTermSerializer(many=True)


class IndexTermDetailSerializer(IndexTermSerializer):
    release = ReleaseRefSerializer()
    subtree = IndexSubtermSerializer(many=True, help_text="Everything below it, in Index order.")


class IndexEntrySerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=PARTS)
    part_name = serializers.CharField()
    term = IndexTermRefSerializer()
    page_url = serializers.URLField()
    code = IndexCodeSerializer()


class MissingPartSerializer(serializers.Serializer):
    part = serializers.ChoiceField(choices=PARTS)
    name = serializers.CharField()
    nearest_release = ReleaseRefSerializer(
        allow_null=True, help_text="The nearest published release whose Index has this part."
    )


class CodeIndexEntriesSerializer(serializers.Serializer):
    index_imported = serializers.BooleanField(
        help_text="False: no Index was imported with the release, so its entries are unknown."
    )
    count = serializers.IntegerField()
    results = IndexEntrySerializer(many=True)
    url = serializers.URLField(help_text="Every entry, paginated.")
    missing_parts = MissingPartSerializer(many=True)


class CodeIndexEntriesPageSerializer(CodeIndexEntriesSerializer):
    release = ReleaseRefSerializer()
    code = serializers.CharField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class CodeDetailWithIndexSerializer(CodeDetailSerializer):
    index_entries = CodeIndexEntriesSerializer(
        help_text="The first Index entries that lead to the code (see `url` for all of them)."
    )
