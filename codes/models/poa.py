"""CMS's present-on-admission (POA) exempt list of a release: the codes a hospital does not
report POA for, and the changes CMS lists against the previous year's list.

A list of its own rather than a flag on Code: "not exempt" and "no list imported" are different
answers, a list can be added to a release already loaded (as CMS publishes it apart from the
code files), and its changes are CMS's own lists, not a diff. Written by codes.importer.loader
alone, never edited; a new import replaces it whole.
"""

from django.db import models

from codes.icd10 import dotted
from codes.importer.titles import MAX_LONG_TITLE


class PoaList(models.Model):
    """One release's POA-exempt list, as imported from CMS's files."""

    release = models.OneToOneField("codes.Release", on_delete=models.CASCADE, related_name="poa")
    fiscal_year = models.PositiveSmallIntegerField()  # the year the list is for
    code_count = models.PositiveIntegerField()
    # Files, the ReadMe's counts, the previous list compared with, CMS's slips taken as meant.
    report = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField()
    imported_by = models.CharField(max_length=150, blank=True)

    def __str__(self) -> str:
        return f"POA-exempt list FY{self.fiscal_year} of {self.release_id}"

    def change_counts(self) -> dict[str, int]:
        counts = {change: 0 for change in PoaListChange.Change.values}
        for change, count in self.changes.values_list("change").annotate(n=models.Count("id")):
            counts[change] = count
        return counts


class PoaExemptCode(models.Model):
    poa_list = models.ForeignKey(PoaList, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=7)  # undotted
    sequence = models.PositiveIntegerField()  # line order in CMS's list

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["poa_list", "code"], name="poa_code_unique"),
        ]

    def __str__(self) -> str:
        return dotted(self.code)


class PoaListChange(models.Model):
    """One line of CMS's additions, deletions or revisions lists: the change of the POA-exempt
    list against the previous year's (titles as CMS's lists give them)."""

    class Change(models.TextChoices):
        ADDED = "added"
        DELETED = "deleted"
        REVISED = "revised"

    poa_list = models.ForeignKey(PoaList, on_delete=models.CASCADE, related_name="changes")
    code = models.CharField(max_length=7)
    change = models.CharField(max_length=7, choices=Change.choices)
    old_title = models.CharField(max_length=MAX_LONG_TITLE, blank=True)
    new_title = models.CharField(max_length=MAX_LONG_TITLE, blank=True)
    sequence = models.PositiveIntegerField()

    class Meta:
        ordering = ["sequence"]

    def __str__(self) -> str:
        return f"{self.change} {dotted(self.code)}"
