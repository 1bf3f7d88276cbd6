"""Term look-up as you type against a MedDRA-sized terminology (issue 18): p95 of ~200 typed queries.

    python benchmarks/term_lookup.py [--terms 80000] [--queries 200] [--database-url URL] [--mesh]

A scratch PostgreSQL database (dropped first) is migrated; `measure_term_lookup` writes a made-up MedDRA
ASCII distribution (invented codes and words: no MedDRA content) with `n_terms` LLTs, loads it with the
app's own service (terminology_load, timed), then times look-ups the way the editor and the case form make
them: typed prefixes of one or two words, whole terms, and terms with a typo (a swapped, dropped or doubled
letter), each through the look-up endpoint (POST /terminology/lookup/, in-process test client: view, query,
scorer and the fragment's template; no network) and through the selector alone. `benchmarks/cases.py`
imports `measure_term_lookup` for cases.json; run alone, this writes benchmarks/results/term_lookup.json.

`--mesh` adds suggestion quality on public data where it exists: BC5CDR's MeSH ids (../shared/data/bc5cdr,
never copied here). A dictionary (MeSH id -> the mention texts of the training set) is loaded as a
terminology (one row per distinct text, the MeSH id as its code; SNOMED-CT-shaped so each id gives one hit)
and each test-set mention is looked up: accuracy@1 and @5 of its gold id (`mesh_acc_at_1`, `mesh_acc_at_5`,
over mentions with a single id; mentions whose id never occurs in training count as misses).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import log, reset_database, setup_django, write_result  # noqa: E402

# Made-up word parts: combined they read like clinical terms ("hepatomyalgia", "acute renoplasia") without
# being MedDRA's.
_STEMS = ["cardi", "hepat", "nephr", "neur", "derm", "gastr", "pulmon", "oste", "my", "arthr", "ren", "cerebr",
          "vascul", "lymph", "thyr", "pancreat", "ocul", "ot", "rhin", "col", "enter", "cyst", "hemat", "angi",
          "encephal", "mening", "splen", "chol", "pleur", "pericard", "endocard", "laryng", "trache", "bronch",
          "esophag", "gingiv", "gloss", "stomat", "proct", "uret", "prostat", "oophor", "salping", "mast", "cutane",
          "fibr", "lip", "chondr", "ten", "synov"]
_SUFFIXES = ["itis", "algia", "osis", "emia", "opathy", "oma", "plasia", "rrhagia", "spasm", "ectasia", "megaly",
             "penia", "trophy", "rrhoea", "lysis", "stenosis", "sclerosis", "malacia", "cele", "ptosis"]
_QUALIFIERS = ["acute", "chronic", "drug induced", "increased", "decreased", "bilateral", "recurrent", "severe",
               "mild", "neonatal", "allergic", "toxic", "infectious", "haemorrhagic", "congenital", "transient",
               "abnormal", "localised", "generalised", "postoperative", "primary", "secondary", "intermittent",
               "progressive", "idiopathic"]
_OBJECTS = ["pain", "swelling", "disorder", "injury", "infection", "failure", "bleeding", "rash", "lesion", "cyst",
            "obstruction", "dysfunction", "syndrome", "deformity", "oedema", "ulcer", "fever", "reaction", "mass",
            "discomfort"]


def _word(rng: random.Random) -> str:
    return rng.choice(_STEMS) + rng.choice(["", "o", "a", "i"]) + rng.choice(_SUFFIXES)


def _term(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.3:
        words = [_word(rng)]
    elif shape < 0.6:
        words = [rng.choice(_QUALIFIERS), _word(rng)]
    elif shape < 0.85:
        words = [_word(rng), rng.choice(_OBJECTS)]
    else:
        words = [rng.choice(_QUALIFIERS), _word(rng), rng.choice(_OBJECTS)]
    return " ".join(words).capitalize()


def write_meddra_like(folder: Path, n_terms: int, seed: int = 18) -> list[tuple[str, str]]:
    """A made-up MedDRA ASCII distribution with `n_terms` LLTs (about a third of them PTs' own LLTs) under
    27 SOCs, 330 HLGTs and 1,700 HLTs. Result: the (LLT code, text) pairs."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    texts: set[str] = set()

    def unique() -> str:
        while True:
            text = _term(rng)
            if text not in texts:
                texts.add(text)
                return text

    socs = [(f"{10_000_000 + i:08d}", f"Made-up organ class {i}") for i in range(27)]
    hlgts = [(f"{11_000_000 + i:08d}", f"Made-up group {i}", socs[i % 27][0]) for i in range(330)]
    hlts = [(f"{12_000_000 + i:08d}", f"Made-up high level term {i}", hlgts[i % 330][0]) for i in range(1700)]
    n_pts = max(1, n_terms // 3)
    pts = [(f"{20_000_000 + i:08d}", unique(), hlts[i % 1700]) for i in range(n_pts)]
    llts = [(code, text, code) for code, text, _ in pts]
    llts += [(f"{30_000_000 + i:08d}", unique(), rng.choice(pts)[0]) for i in range(n_terms - n_pts)]
    soc_of = {h: s for h, _, s in hlgts}
    hlgt_of = {h: g for h, _, g in hlts}

    def write(name: str, rows) -> None:
        with open(folder / name, "w", encoding="utf-8") as f:
            for row in rows:
                f.write("$".join(row) + "$\n")

    blank = [""] * 7
    write("soc.asc", ([c, n, f"S{c[-2:]}", *blank] for c, n in socs))
    write("hlgt.asc", ([c, n, *blank] for c, n, _ in hlgts))
    write("hlt.asc", ([c, n, *blank] for c, n, _ in hlts))
    write("pt.asc", ([c, n, "", soc_of[hlgt_of[h[0]]], *blank] for c, n, h in pts))
    write("llt.asc", ([c, n, p, "", "", "", "", "", "", "Y", ""] for c, n, p in llts))
    write("soc_hlgt.asc", ([s, c] for c, _, s in hlgts))
    write("hlgt_hlt.asc", ([g, c] for c, _, g in hlts))
    write("hlt_pt.asc", ([h[0], c] for c, _, h in pts))
    names = {c: n for c, n, *_ in socs} | {c: n for c, n, _ in hlgts} | {c: n for c, n, _ in hlts}
    write("mdhier.asc", ([c, h[0], hlgt_of[h[0]], soc_of[hlgt_of[h[0]]], n, names[h[0]], names[hlgt_of[h[0]]],
                          names[soc_of[hlgt_of[h[0]]]], "S", "", soc_of[hlgt_of[h[0]]], "Y"] for c, n, h in pts))
    return [(c, n) for c, n, _ in llts]


def _typo(rng: random.Random, text: str) -> str:
    words = text.split()
    i = max(range(len(words)), key=lambda k: len(words[k]))
    w = words[i]
    j = rng.randrange(1, len(w) - 1) if len(w) > 3 else 1
    kind = rng.choice(("swap", "drop", "double"))
    if kind == "swap" and len(w) > 3:
        w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    elif kind == "drop":
        w = w[:j] + w[j + 1 :]
    else:
        w = w[:j] + w[j] + w[j:]
    words[i] = w
    return " ".join(words)


QUERY_KINDS = ("prefix", "words", "whole", "typo")


def typed_queries(terms: list[tuple[str, str]], n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """(query, intended text, kind): a quarter each of a first word's prefix ("prefix"), all words with the last
    one half typed ("words"; a one-word term: its prefix), whole terms ("whole") and one typo ("typo")."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        _, text = rng.choice(terms)
        words = text.lower().split()
        kind = QUERY_KINDS[i % 4]
        if kind == "prefix":
            w = words[0]
            query = w[: rng.randint(min(3, len(w)), len(w))]
        elif kind == "words":
            query = " ".join(words[:-1] + [words[-1][: max(2, len(words[-1]) // 2)]])
        elif kind == "whole":
            query = text
        else:
            query = _typo(rng, text.lower())
        out.append((query, text, kind))
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure_term_lookup(n_terms: int = 80_000, *, n_queries: int = 200, repeats: int = 1) -> dict[str, float]:
    """Load `n_terms` made-up MedDRA-like LLTs into the configured (PostgreSQL) database and time look-ups.

    Django must be set up (migrations applied); the made-up MedDRA becomes the current MedDRA version.
    Result (flat metrics): term_lookup_p95_ms (the endpoint, the goal: < 50 ms), term_lookup_median_ms,
    term_search_p95_ms (the selector alone), term_lookup_intended_in_top10 (share of queries whose intended
    term is among the 10 suggestions; also per kind of query: _prefix, _words, _whole, _typo; a 3-letter
    prefix of a common word cannot single one term out), terminology_load_s, term_lookup_terms,
    term_lookup_queries.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    from annotations.models import Project, ProjectMembership
    from pharmacovigilance.terminology.selectors import term_search
    from pharmacovigilance.terminology.services import terminology_load

    if connection.vendor != "postgresql":
        raise RuntimeError("the look-up benchmark measures PostgreSQL's trigram index: set a PostgreSQL DATABASE_URL")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "MedAscii"
        t0 = time.perf_counter()
        terms = write_meddra_like(folder, n_terms)
        log(f"wrote {len(terms):,} made-up LLTs in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        result = terminology_load(by=None, system="meddra", version="bench", files=folder)
        load_s = time.perf_counter() - t0
    log(f"loaded {sum(v for k, v in result.counts.items() if k != 'hierarchy'):,} terms in {load_s:.1f}s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE terminology_term")
    User = get_user_model()
    user = User.objects.filter(username="term-bench").first() or User.objects.create_user("term-bench", password="x")
    project = Project.objects.get_or_create(slug="term-bench", defaults={"name": "Term look-up benchmark"})[0]
    ProjectMembership.objects.get_or_create(project=project, user=user, defaults={"role": "annotator"})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    queries = typed_queries(terms, n_queries)
    for query, *_ in queries[:10]:  # warm-up: caches, the index in memory
        client.post("/terminology/lookup/", {"system": "meddra", "q": query})
    endpoint, selector, found = [], [], 0
    found_by_kind = dict.fromkeys(QUERY_KINDS, 0)
    for _ in range(repeats):
        for query, intended, kind in queries:
            t0 = time.perf_counter()
            response = client.post("/terminology/lookup/", {"system": "meddra", "q": query})
            endpoint.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
            t0 = time.perf_counter()
            hits = term_search(system="meddra", query=query, limit=10)
            selector.append((time.perf_counter() - t0) * 1000)
            hit = any(h.text == intended for h in hits)
            found += hit
            found_by_kind[kind] += hit
    metrics = {
        "term_lookup_p95_ms": round(_p95(endpoint), 1),
        "term_lookup_median_ms": round(statistics.median(endpoint), 1),
        "term_search_p95_ms": round(_p95(selector), 1),
        "term_lookup_intended_in_top10": round(found / len(selector), 3),
        **{f"term_lookup_intended_in_top10_{kind}": round(n / (len(selector) / len(QUERY_KINDS)), 3)
           for kind, n in found_by_kind.items()},
        "terminology_load_s": round(load_s, 1),
        "term_lookup_terms": n_terms,
        "term_lookup_queries": len(endpoint),
    }
    log(f"look-up: p95 {metrics['term_lookup_p95_ms']} ms (endpoint), {metrics['term_search_p95_ms']} ms "
        f"(selector); intended term in the top 10: {metrics['term_lookup_intended_in_top10']:.1%}")
    return metrics


# --- BC5CDR MeSH (public data) -----------------------------------------------------------------------------


def _pubtator_mentions(path: Path) -> list[tuple[str, str]]:
    """(mention text, MeSH id) of a PubTator file's mentions that carry a single id."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 6 and parts[1].isdigit():
            text, ids = parts[3], parts[5]
            if ids and ids != "-1" and "|" not in ids:
                out.append((text, ids))
    return out


def measure_mesh(data_dir: Path) -> dict[str, float]:
    """Accuracy@1/@5 of look-ups of BC5CDR test mentions in a dictionary built from its training set."""
    from pharmacovigilance.terminology.selectors import term_search
    from pharmacovigilance.terminology.services import terminology_load

    folder = data_dir / "bc5cdr"
    train = next(p for p in sorted(folder.rglob("*")) if "train" in p.name.lower() and p.suffix in (".txt", ".PubTator"))
    test = next(p for p in sorted(folder.rglob("*")) if "test" in p.name.lower() and p.suffix in (".txt", ".PubTator"))
    dictionary: dict[str, set[str]] = {}
    for text, mesh in _pubtator_mentions(train):
        dictionary.setdefault(mesh, set()).add(" ".join(text.split()))
    header = "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\tcaseSignificanceId\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sct2_Description_Snapshot-en_MESH.txt"
        with open(path, "w", encoding="utf-8") as f:
            f.write(header)
            n = 0
            for mesh, texts in sorted(dictionary.items()):
                for text in sorted(texts):
                    n += 1
                    # RF2's shape carries the dictionary: the MeSH id (D012345) is kept in a numeric concept
                    # id (its digits plus the letter's ordinal) and mapped back after the look-up.
                    concept = f"{ord(mesh[0]):03d}{mesh[1:]}" if mesh[1:].isdigit() else None
                    if concept is None or not text.strip():
                        continue
                    f.write(f"{1000000 + n}\t20990101\t1\t900000000000207008\t{concept}\ten\t"
                            f"900000000000013009\t{text}\t900000000000448009\n")
        terminology_load(by=None, system="snomed", version="bc5cdr-train", files=path)
    gold = _pubtator_mentions(test)
    # The baseline a look-up should beat: the test mention's exact text (case and spacing aside) in the
    # dictionary, with its most frequent id.
    by_text: dict[str, Counter] = {}
    for text, mesh in _pubtator_mentions(train):
        by_text.setdefault(" ".join(text.lower().split()), Counter())[mesh] += 1
    exact = sum(1 for text, mesh in gold if (c := by_text.get(" ".join(text.lower().split()))) and
                c.most_common(1)[0][0] == mesh)
    at1 = at5 = 0
    for text, mesh in gold:
        hits = term_search(system="snomed", query=text, limit=5)
        ids = [chr(int(h.code[:3])) + h.code[3:] for h in hits]
        at1 += bool(ids) and ids[0] == mesh
        at5 += mesh in ids
    metrics = {"mesh_acc_at_1": round(at1 / len(gold), 4), "mesh_acc_at_5": round(at5 / len(gold), 4),
               "mesh_exact_match_acc": round(exact / len(gold), 4),
               "mesh_test_mentions": len(gold), "mesh_dictionary_ids": len(dictionary)}
    log(f"BC5CDR MeSH: acc@1 {metrics['mesh_acc_at_1']:.3f}, acc@5 {metrics['mesh_acc_at_5']:.3f} "
        f"over {len(gold):,} test mentions")
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/ade_review_term_bench")
    parser.add_argument("--terms", type=int, default=80_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--mesh", action="store_true", help="also score BC5CDR MeSH look-ups (public data)")
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ADE_REVIEW_DATA", ROOT.parent / "shared" / "data")))
    parser.add_argument("--name", default="term_lookup")
    args = parser.parse_args()

    reset_database(args.database_url)
    setup_django(args.database_url, DEBUG="0", LOG_LEVEL="WARNING")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    metrics = measure_term_lookup(args.terms, n_queries=args.queries)
    extra = {"setup": {
        "server": "in-process Django test client (view, query, scorer, template; no network), PostgreSQL on "
                  "127.0.0.1 with pg_trgm's GIN index",
        "data": f"{args.terms:,} made-up MedDRA-like LLTs (invented words and codes) loaded with terminology_load; "
                f"{args.queries} typed queries: one-word prefixes, two-word prefixes, whole terms, one typo each",
        "goal": "term_lookup_p95_ms < 50",
    }}
    if args.mesh:
        if (args.data / "bc5cdr").is_dir():
            metrics |= measure_mesh(args.data)
            extra["mesh"] = ("BC5CDR (Li et al. 2016): a dictionary of MeSH id -> training-set mention texts, "
                             "each test-set mention with a single id looked up; accuracy at 1 and 5")
        else:
            log(f"BC5CDR not found under {args.data}: MeSH accuracy skipped")
    path = write_result(args.name, metrics, extra=extra)
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
