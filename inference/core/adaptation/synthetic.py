"""A synthetic multilingual clinical corpus: Chinese, Korean and Swedish sentences with entity annotations
(framework-free).

Tests and the encoder-adaptation benchmark need text in the scripts the shipped English encoder cannot
read, without external data: every sentence here is made from a template and small lexicons of drugs,
adverse effects and diseases, so its entities are known exactly. Nothing in it is real patient text, and
results computed on it must be labelled synthetic.

Annotations follow ADE-Corpus-V2's conventions (inference.core.extraction.datasets): entity types "Drug",
"Adverse-Effect" and "Disease"; an "Adverse-Effect" relation from the effect (arg1) to the drug (arg2).
Korean particles stay outside the entity ("유방암으로": the entity is "유방암"), as annotators mark them.

Draws come from one `random.Random(seed)`: the same arguments always give the same documents.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from annotations.formats.document import Document, Entity, Relation, Span

__all__ = ["LANGUAGES", "LEXICONS", "TEMPLATES", "synthetic_documents", "synthetic_corpus"]

LANGUAGES = ("zh", "ko", "sv")

DRUG, EFFECT, DISEASE = "Drug", "Adverse-Effect", "Disease"
_SLOT_TYPES = {"drug": DRUG, "ade": EFFECT, "ade2": EFFECT, "disease": DISEASE}

LEXICONS: dict[str, dict[str, tuple[str, ...]]] = {
    "zh": {
        "drug": ("阿司匹林", "顺铂", "紫杉醇", "卡培他滨", "奥沙利铂", "多柔比星", "环磷酰胺", "华法林", "布洛芬",
                 "青霉素", "头孢曲松", "万古霉素", "吉西他滨", "伊立替康", "曲妥珠单抗", "他莫昔芬"),
        "ade": ("恶心", "呕吐", "皮疹", "白细胞减少", "腹泻", "脱发", "肝功能异常", "发热", "骨髓抑制", "手足综合征",
                "瘙痒", "头晕", "血小板减少", "周围神经病变", "口腔黏膜炎", "乏力"),
        "disease": ("乳腺癌", "胃癌", "肺癌", "结肠癌", "肝癌", "食管癌", "直肠癌", "卵巢癌", "肺炎", "高血压",
                    "鼻咽癌", "胰腺癌"),
    },
    "ko": {
        "drug": ("아스피린", "시스플라틴", "파클리탁셀", "와파린", "이부프로펜", "페니실린", "반코마이신", "모르핀",
                 "옥살리플라틴", "카페시타빈", "세프트리악손", "메토트렉세이트"),
        "ade": ("오심", "구토", "발진", "설사", "가려움", "어지러움", "두통", "발열", "탈모", "호흡곤란", "복통",
                "부종", "피로감", "저혈압"),
        "disease": ("유방암", "위암", "폐암", "대장암", "폐렴", "고혈압", "당뇨병", "간암", "신부전"),
    },
    "sv": {
        "drug": ("penicillin", "waran", "metotrexat", "ibuprofen", "cisplatin", "kodein", "morfin", "amoxicillin",
                 "simvastatin", "metformin", "paklitaxel", "oxaliplatin", "kapecitabin", "vankomycin"),
        "ade": ("klåda", "utslag", "illamående", "kräkningar", "diarré", "yrsel", "huvudvärk", "trötthet",
                "andfåddhet", "muskelvärk", "håravfall", "feber", "buksmärta", "svullnad"),
        "disease": ("bröstcancer", "lunginflammation", "hypertoni", "diabetes", "magsår", "förmaksflimmer",
                    "tjocktarmscancer", "lungcancer", "njursvikt"),
    },
}

# {slot} is an annotated entity; an "ade" slot and a "drug" slot in the same template are related.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "zh": (
        "患者因{disease}术后行{drug}化疗，出现{ade}及{ade2}。",
        "{drug}治疗第3天，患者诉{ade}，予对症处理后好转。",
        "患者{disease}，口服{drug}后出现{ade}，停药后缓解。",
        "既往使用{drug}时曾发生{ade}，此次未再使用。",
        "行{drug}联合化疗两周期，复查提示{ade}。",
        "入院诊断：{disease}。用药：{drug}。不良反应：{ade}。",
        "患者静脉滴注{drug}期间出现{ade}，遂减量。",
        "{disease}患者，接受{drug}治疗后无{ade}。",
    ),
    "ko": (
        "수액 주입중 환자 {ade} 호소함",
        "{drug} 투여 후 {ade} 호소함",
        "{disease}으로 {drug} 복용 중 {ade} 발생",
        "환자는 {drug} 복용 후 {ade} 및 {ade2} 증상 보임",
        "{drug} 주입 후 {ade} 있어 주치의에게 보고함",
        "{disease} 환자로 {drug} 투여 중이며 {ade} 없음",
        "{ade} 지속되어 {drug} 중단함",
        "밤새 {ade} 호소하여 관찰함, {drug} 투여 보류",
    ),
    "sv": (
        "Patienten fick {ade} och {ade2} efter {drug}.",
        "Pat. med {disease} behandlas med {drug}, utvecklade {ade}.",
        "{ade} sedan insättning av {drug}, som sattes ut.",
        "Ingen {ade} efter {drug} enligt patienten.",
        "Patienten med {disease} har fått {drug} i tre dagar och besväras av {ade}.",
        "Inkommer med {ade} efter behandling med {drug}.",
        "Tidigare {ade} av {drug}, undviks.",
        "Känd {disease}, står på {drug}. Nytillkommen {ade}.",
    ),
}

_SLOT = re.compile(r"\{(\w+)\}")


def _fill(template: str, lexicon: dict[str, tuple[str, ...]], rng: random.Random):
    """The sentence and its entities as (start, end, slot) from one template."""
    parts, entities, pos, used = [], [], 0, {}
    last = 0
    for m in _SLOT.finditer(template):
        literal = template[last : m.start()]
        parts.append(literal)
        pos += len(literal)
        slot = m.group(1)
        pool = lexicon["ade" if slot == "ade2" else slot]
        word = rng.choice([w for w in pool if w != used.get("ade")] if slot == "ade2" else pool)
        used[slot] = word
        parts.append(word)
        entities.append((pos, pos + len(word), slot))
        pos += len(word)
        last = m.end()
    parts.append(template[last:])
    return "".join(parts), entities


def synthetic_documents(language: str, n: int, *, seed: int = 0, sentences_per_document: int = 1,
                        lexicon: dict[str, Sequence[str]] | None = None) -> list[Document]:
    """`n` synthetic clinical documents in `language` ("zh", "ko" or "sv"), with entities and relations.

    Args: the language, the number of documents, the seed, how many template sentences make a
    document (joined by a space, or nothing for Chinese), and the words to draw from (slot -> words; default
    LEXICONS[language]; e.g. a part of it for training, so that test documents hold words never trained on).
    Result: documents with ids "<lang>-<i>" and metadata {"language", "synthetic": True}. Errors: ValueError
    for an unknown language, or a lexicon without a slot's words ("drug", "ade", "disease").
    """
    if language not in TEMPLATES:
        raise ValueError(f"unknown language {language!r}; known: {', '.join(LANGUAGES)}")
    words = {slot: tuple(ws) for slot, ws in (lexicon or LEXICONS[language]).items()}
    if any(len(words.get(slot, ())) < (2 if slot == "ade" else 1) for slot in ("drug", "ade", "disease")):
        raise ValueError("the lexicon needs words for drug, disease and at least two for ade")
    rng = random.Random(f"{seed}-{language}")
    joiner = "" if language == "zh" else " "
    docs = []
    for i in range(n):
        text, spans = "", []
        for k in range(sentences_per_document):
            sentence, ents = _fill(rng.choice(TEMPLATES[language]), words, rng)
            offset = len(text) + (len(joiner) if k else 0)
            text = f"{text}{joiner if k else ''}{sentence}"
            spans.append([(s + offset, e + offset, slot) for s, e, slot in ents])
        entities, relations = [], []
        for sentence_spans in spans:
            ids = {}
            for s, e, slot in sentence_spans:
                eid = f"T{len(entities) + 1}"
                entities.append(Entity(eid, _SLOT_TYPES[slot], (Span(s, e),), text[s:e]))
                ids.setdefault(slot, []).append(eid)
            for drug in ids.get("drug", ()):
                for effect in ids.get("ade", []) + ids.get("ade2", []):
                    relations.append(Relation(f"R{len(relations) + 1}", EFFECT, effect, drug))
        docs.append(Document(
            id=f"{language}-{i}", text=text, entities=tuple(entities), relations=tuple(relations),
            metadata={"language": language, "synthetic": True},
        ))
    return docs


def synthetic_corpus(n_per_language: int, *, languages: Sequence[str] = LANGUAGES, seed: int = 0,
                     sentences_per_document: int = 1) -> list[Document]:
    """Documents of every language in `languages`, `n_per_language` each, in language order."""
    return [d for lang in languages
            for d in synthetic_documents(lang, n_per_language, seed=seed, sentences_per_document=sentences_per_document)]
