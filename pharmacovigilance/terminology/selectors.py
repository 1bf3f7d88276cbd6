"""Reading terminologies: which versions are loaded, term look-up as you type, a code's term and a PT's SOC.

`term_search` asks the database for candidates and orders them with the core scorer
(pharmacovigilance.core.terminology.rank), so PostgreSQL and SQLite suggest in the same order for the
candidates they find. On PostgreSQL the candidates come from the words typed as word prefixes (a full-text
index), near spellings of mistyped words (pg_trgm on the distinct words) and, last, pg_trgm similarity of
whole texts (the GIN trigram index on the normalised text); on SQLite (the embedded demo) from substring
matches of each word's first letters.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet

from annotations.errors import ApplicationError
from pharmacovigilance.core.terminology import SEARCH_LEVELS, Level, System, TermHit, normalize_text, rank
from pharmacovigilance.terminology.models import Term, TermHierarchy, Terminology

MAX_LIMIT = 50
MIN_QUERY = 2  # characters (normalised) before a look-up runs
MAX_QUERY = 200
CANDIDATES = 120  # what the database hands the scorer per look-up
FEW = 3  # fewer candidates than this from the words as typed: look for near spellings too
SQLITE_CANDIDATES = 2000


def terminology_list(*, current_only: bool = False) -> QuerySet[Terminology]:
    """Loaded versions, newest first per system (with who loaded them); `current_only`: those look-ups use."""
    qs = Terminology.objects.select_related("loaded_by")
    return qs.filter(current=True) if current_only else qs


def terminology_current(*, system: str) -> Terminology | None:
    """The version of `system` look-ups use now, or None when none is loaded."""
    return Terminology.objects.filter(system=system, current=True).first()


def _system(system: str) -> System:
    try:
        return System(system)
    except ValueError:
        raise ApplicationError("bad_system", f"Unknown terminology {str(system)[:20]!r}; known: "
                                             f"{', '.join(s.value for s in System)}.") from None


def term_search(*, system: str, query: str, limit: int = 10, terminology: Terminology | None = None) -> list[TermHit]:
    """The terms of `system`'s current version that best match what was typed, best first.

    MedDRA is searched at the LLT (current ones only) and each hit carries its PT; SNOMED CT gives one hit
    per concept (its best-matching description); ATC any level. Args: `query` free text (fewer than two
    letters or digits give no hits), `limit` 1-50, `terminology` the current version when the caller has
    it (terminology_current). Result: TermHit list (empty when nothing is loaded).
    Errors: ApplicationError `bad_system`.
    """
    system = _system(system)
    limit = max(1, min(int(limit), MAX_LIMIT))
    q = normalize_text((query or "")[:MAX_QUERY])
    if len(q.replace(" ", "")) < MIN_QUERY:
        return []
    terminology = terminology or terminology_current(system=system)
    if terminology is None:
        return []
    levels = list(SEARCH_LEVELS[system])
    if connection.vendor == "postgresql":
        rows = _candidates_postgresql(terminology.pk, levels, q)
    else:
        rows = _candidates_fallback(terminology.pk, levels, q)
    ranked = rank(q, rows, text=lambda r: r[1], limit=len(rows))
    hits: list[TermHit] = []
    seen: set[str] = set()
    for score, (code, text, level, pt_code, pt_text) in ranked:
        if code in seen:  # SNOMED CT: one hit per concept (its best description)
            continue
        seen.add(code)
        hits.append(TermHit(system=system.value, code=code, text=text, level=level, pt_code=pt_code,
                            pt_text=pt_text, version=terminology.version, score=score))
        if len(hits) == limit:
            break
    return hits


# PostgreSQL finds candidates in up to three steps, each only when the one before found too few:
# 1. every word typed, as a word prefix (full-text index, `simple` configuration: posting lists per word, so
#    a common prefix costs little), the texts starting with the query first, then the shortest;
# 2. mistyped words replaced by their near spellings among the version's distinct words (pg_trgm's
#    similarity on TermWord: thousands of words, not every term), then step 1 with those alternatives;
# 3. pg_trgm's similarity of whole texts (the GIN trigram index), for what words cannot find ("nose bleed"
#    for "Nosebleed").
# The core scorer orders whatever the steps found.
_PG_WORDS_SQL = """
SELECT code, text, level, pt_code, pt_text
FROM terminology_term
WHERE terminology_id = %(terminology)s AND current AND level = ANY(%(levels)s)
  AND to_tsvector('simple', normalized) @@ to_tsquery('simple', %(tsquery)s)
ORDER BY normalized NOT LIKE %(prefix)s, length(normalized)
LIMIT %(n)s
"""
# For each word typed that starts no word of the version (a typo: "hepatits"), its nearest spellings.
_PG_NEAR_WORDS_SQL = """
SELECT q.i, near.word
FROM unnest(%(words)s::text[]) WITH ORDINALITY AS q(word, i)
CROSS JOIN LATERAL (
  SELECT w.word FROM terminology_termword w
  WHERE w.terminology_id = %(terminology)s AND length(q.word) >= 3 AND w.word %% q.word
    AND NOT EXISTS (SELECT 1 FROM terminology_termword p
                    WHERE p.terminology_id = %(terminology)s AND p.word LIKE q.word || '%%')
  ORDER BY similarity(w.word, q.word) DESC, length(w.word)
  LIMIT %(n)s
) AS near
"""
_PG_SIMILAR_SQL = """
SELECT code, text, level, pt_code, pt_text
FROM terminology_term
WHERE terminology_id = %(terminology)s AND current AND level = ANY(%(levels)s) AND normalized %% %(q)s
ORDER BY similarity(normalized, %(q)s) DESC, length(normalized)
LIMIT %(n)s
"""
NEAR_WORDS = 4  # spellings tried for a mistyped word
MAX_WORDS = 8


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _tsquery(alternatives: list[list[str]]) -> str:
    """`(a:* | b:*) & c:*`: each position's alternatives as word prefixes (normalised words are [0-9a-z]+,
    so nothing in them is a tsquery operator)."""
    return " & ".join("(" + " | ".join(f"{w}:*" for w in words) + ")" for words in alternatives)


def _candidates_postgresql(terminology_id: int, levels: list[str], q: str) -> list[tuple]:
    words = q.split()[:MAX_WORDS]
    base = {"terminology": terminology_id, "levels": levels, "prefix": _like(q) + "%", "n": CANDIDATES}
    with connection.cursor() as cursor:
        cursor.execute(_PG_WORDS_SQL, {**base, "tsquery": _tsquery([[w] for w in words])})
        rows = cursor.fetchall()
        if len(rows) >= FEW:
            return rows
        # Normalised words are [0-9a-z]+: no LIKE wildcard in them.
        cursor.execute(_PG_NEAR_WORDS_SQL, {"terminology": terminology_id, "words": words, "n": NEAR_WORDS})
        near: dict[int, list[str]] = {}
        for i, word in cursor.fetchall():
            near.setdefault(i - 1, []).append(word)
        if near:  # each mistyped word replaced by its near spellings
            alternatives = [near.get(i) or [w] for i, w in enumerate(words)]
            cursor.execute(_PG_WORDS_SQL, {**base, "tsquery": _tsquery(alternatives)})
            rows = _union(rows, cursor.fetchall())
        if not rows and len(q) >= 3:
            cursor.execute(_PG_SIMILAR_SQL, {**base, "q": q})
            rows = cursor.fetchall()
    return rows


def _union(first: list[tuple], second: list[tuple]) -> list[tuple]:
    seen = set(first)
    return first + [r for r in second if r not in seen]


def _candidates_fallback(terminology_id: int, levels: list[str], q: str) -> list[tuple]:
    match = Q()
    for word in q.split():
        match |= Q(normalized__contains=word[:3])
    return list(
        Term.objects.filter(match, terminology_id=terminology_id, current=True, level__in=levels)
        .values_list("code", "text", "level", "pt_code", "pt_text")[:SQLITE_CANDIDATES]
    )


def term_get(*, system: str, code: str) -> TermHit | None:
    """The term `code` stands for in `system`'s current version (a MedDRA LLT with its PT; a SNOMED CT
    concept by its FSN), or None when it is not there (a code from an older version, a typo)."""
    system = _system(system)
    terminology = terminology_current(system=system)
    if terminology is None or not code:
        return None
    rows = Term.objects.filter(terminology=terminology, code=str(code)[:20])
    order = {Level.LLT: 0, Level.FSN: 0, Level.PT: 1, Level.SYNONYM: 2}
    term = min(rows, key=lambda t: order.get(t.level, 1), default=None)
    if term is None:
        return None
    return TermHit(system=system.value, code=term.code, text=term.text, level=term.level, pt_code=term.pt_code,
                   pt_text=term.pt_text, version=terminology.version, score=1.0)


def meddra_primary_soc(*, pt_codes) -> dict[str, tuple[str, str]]:
    """{PT code: (SOC code, SOC name)} through each PT's primary SOC path in the current MedDRA (what a
    count by SOC counts each PT under once)."""
    terminology = terminology_current(system=System.MEDDRA)
    if terminology is None:
        return {}
    paths = dict(TermHierarchy.objects.filter(terminology=terminology, primary=True, pt_code__in=list(pt_codes))
                 .values_list("pt_code", "soc_code"))
    names = dict(Term.objects.filter(terminology=terminology, level=Level.SOC, code__in=set(paths.values()))
                 .values_list("code", "text"))
    return {pt: (soc, names.get(soc, "")) for pt, soc in paths.items()}
