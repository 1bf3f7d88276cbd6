"""term_search on PostgreSQL (trigram candidates, core scorer ranking), its SQLite fallback, and reading a
code back."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import connection

from annotations.errors import ApplicationError
from pharmacovigilance.terminology import selectors
from pharmacovigilance.terminology.selectors import meddra_primary_soc, term_get, term_search
from pharmacovigilance.terminology.services import terminology_load

from .conftest import SNOMED

pytestmark = pytest.mark.django_db


def texts(hits):
    return [h.text for h in hits]


def test_the_trigram_index_exists_on_postgresql():
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'term_normalized_trgm_idx'")
        (indexdef,) = cursor.fetchone()
    assert "gin" in indexdef and "gin_trgm_ops" in indexdef


@pytest.mark.parametrize(("query", "first"), [
    ("nosebl", "Nosebleed"),  # a word being typed
    ("NOSE BLEED", "Nose bleeding"),
    ("hepatits", "Hepatitis"),  # a typo
    ("rash", "Rash"),  # the exact term before longer ones
    ("itchy", "Itchy rash"),
    ("ra", "Rash"),  # two characters: texts (or words) starting with them
    ("liver inflam", "Liver inflammation"),
])
def test_meddra_look_up_ranks_what_was_meant_first(meddra, query, first):
    hits = term_search(system="meddra", query=query)
    assert hits and hits[0].text == first, texts(hits)
    assert all(0 < h.score <= 1 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_meddra_hits_are_llts_with_their_pt_and_version(meddra):
    hit = term_search(system="meddra", query="nosebleed")[0]
    assert (hit.system, hit.code, hit.level, hit.pt_code, hit.pt_text, hit.version) == (
        "meddra", "95000001", "LLT", "94000001", "Epistaxis", "27.0")
    rash = next(h for h in term_search(system="meddra", query="rash") if h.text == "Rash")
    assert (rash.code, rash.pt_code) == ("94000003", "94000003")  # a PT's own LLT


def test_non_current_llts_and_upper_levels_are_not_suggested(meddra):
    assert "Head ache" not in texts(term_search(system="meddra", query="head ache"))  # llt_currency N
    assert "Headache" in texts(term_search(system="meddra", query="head ache"))
    assert not term_search(system="meddra", query="haemorrhage events")  # an HLGT: not coded against


def test_limit_short_and_empty_queries(meddra):
    assert len(term_search(system="meddra", query="bleed", limit=1)) == 1
    assert term_search(system="meddra", query="") == []
    assert term_search(system="meddra", query="r") == []
    assert term_search(system="meddra", query="   %%% ") == []
    assert term_search(system="meddra", query="%") == []


def test_like_wildcards_never_reach_the_database_as_wildcards(meddra):
    # Normalisation turns % and _ into spaces (and the SQL escapes them anyway): "%%sh" is the word "sh".
    assert "Rash" not in texts(term_search(system="meddra", query="%%sh"))
    assert texts(term_search(system="meddra", query="r_sh")) == texts(term_search(system="meddra", query="r sh"))


def test_atc_and_snomed(atc, staff):
    hit = term_search(system="atc", query="warf")[0]
    assert (hit.code, hit.text, hit.level) == ("B01AA03", "warfarin", "ATC5")
    assert term_search(system="atc", query="penicillins")[0].code in ("J01CA", "J01C")
    terminology_load(by=staff, system="snomed", version="20990131", files=SNOMED)
    hits = term_search(system="snomed", query="nosebleed")
    assert [h.code for h in hits].count("7100000001") == 1  # one hit per concept: its best description
    assert hits[0].text == "Nosebleed" and hits[0].level == "SYN"


def test_nothing_loaded_and_unknown_system(db):
    assert term_search(system="meddra", query="rash") == []
    with pytest.raises(ApplicationError) as exc:
        term_search(system="icd10", query="rash")
    assert exc.value.code == "bad_system"


def test_the_sqlite_fallback_orders_the_same_way(meddra, monkeypatch):
    postgres = texts(term_search(system="meddra", query="nose bleed"))
    monkeypatch.setattr(selectors, "connection", SimpleNamespace(vendor="sqlite"))
    fallback = texts(term_search(system="meddra", query="nose bleed"))
    assert fallback[0] == postgres[0] == "Nose bleeding"
    assert texts(term_search(system="meddra", query="hepatits"))[0] == "Hepatitis"


def test_term_get_and_primary_soc(meddra):
    hit = term_get(system="meddra", code="95000001")
    assert (hit.text, hit.pt_code, hit.pt_text) == ("Nosebleed", "94000001", "Epistaxis")
    assert term_get(system="meddra", code="99999999") is None
    assert meddra_primary_soc(pt_codes=["94000001", "94000003", "12345678"]) == {
        "94000001": ("91000001", "Bleeding and clotting conditions"),
        "94000003": ("91000002", "Skin conditions"),
    }


def test_query_counts(meddra, django_assert_num_queries, monkeypatch):
    with django_assert_num_queries(2):  # the current version, the terms with the words typed
        term_search(system="meddra", query="rash")
    with django_assert_num_queries(4):  # ... too few: near spellings of mistyped words, the terms with those
        assert term_search(system="meddra", query="itchy rahs")[0].text == "Itchy rash"
    with django_assert_num_queries(4):
        assert term_search(system="meddra", query="nosebleeding")[0].text == "Nosebleed"
    monkeypatch.setattr(selectors, "NEAR_WORDS", 0)  # no near spelling: whole-text trigram similarity
    with django_assert_num_queries(4):
        assert set(texts(term_search(system="meddra", query="nosebleeding"))[:2]) == {"Nosebleed", "Nose bleeding"}
