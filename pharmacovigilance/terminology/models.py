"""Loaded terminologies: one current version per system on the site, its terms (with the normalised text the
look-up's trigram index covers) and, for MedDRA, each PT's paths up to its SOCs.

Terms of a replaced version are deleted with the load that replaces it (annotations and cases keep the code
and the version they were coded with as text, never a key to these rows); the Terminology row stays, as the
record of who loaded which version when."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from pharmacovigilance.core.terminology import System


class TerminologySystem(models.TextChoices):
    MEDDRA = System.MEDDRA.value, System.MEDDRA.label
    ATC = System.ATC.value, System.ATC.label
    SNOMED = System.SNOMED.value, System.SNOMED.label


class Terminology(models.Model):
    """One loaded version of a terminology; `current` on at most one per system (the one look-ups use)."""

    system = models.CharField(max_length=10, choices=TerminologySystem.choices)
    version = models.CharField(max_length=50)
    current = models.BooleanField(default=False)
    loaded_at = models.DateTimeField(default=timezone.now)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    loaded_from = models.CharField(max_length=200, blank=True, help_text="The file or folder name (never a path).")
    replaced_at = models.DateTimeField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True, help_text="Terms per level and hierarchy rows.")

    class Meta:
        ordering = ["system", "-loaded_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["system"], condition=Q(current=True),
                                    name="terminology_one_current_per_system"),
        ]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.version}"

    @property
    def term_count(self) -> int:
        return sum(v for k, v in (self.counts or {}).items() if k != "hierarchy")


class Term(models.Model):
    """A code and one of its texts: MedDRA LLT/PT/HLT/HLGT/SOC, an ATC code of any level, a SNOMED CT
    concept's FSN or synonym (several rows per concept). `normalized` is what look-ups compare
    (pharmacovigilance.core.terminology.normalize_text); on PostgreSQL a GIN trigram index covers it
    (migration 0001)."""

    terminology = models.ForeignKey(Terminology, on_delete=models.CASCADE, related_name="terms")
    code = models.CharField(max_length=20)
    text = models.TextField()
    normalized = models.TextField()
    level = models.CharField(max_length=8)
    pt_code = models.CharField(max_length=20, blank=True)
    pt_text = models.TextField(blank=True)
    current = models.BooleanField(default=True, help_text="MedDRA: llt_currency; others always current.")

    class Meta:
        indexes = [models.Index(fields=["terminology", "code"], name="term_terminology_code_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class TermHierarchy(models.Model):
    """A MedDRA PT's path PT -> HLT -> HLGT -> SOC (mdhier.asc); `primary` on its primary SOC's paths."""

    terminology = models.ForeignKey(Terminology, on_delete=models.CASCADE, related_name="hierarchy")
    pt_code = models.CharField(max_length=20)
    hlt_code = models.CharField(max_length=20)
    hlgt_code = models.CharField(max_length=20)
    soc_code = models.CharField(max_length=20)
    primary = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["terminology", "pt_code"], name="term_hierarchy_pt_idx")]


class TermWord(models.Model):
    """A distinct word of the searchable terms of a version (MedDRA's current LLTs, ATC, SNOMED CT): what a
    mistyped word is matched against (pg_trgm's similarity over a few thousand words, not every term; the
    pg_trgm documentation's own advice for spelling correction). PostgreSQL only uses it."""

    terminology = models.ForeignKey(Terminology, on_delete=models.CASCADE, related_name="words")
    word = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["terminology", "word"], name="term_word_unique")]
