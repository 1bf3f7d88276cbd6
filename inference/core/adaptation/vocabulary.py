"""Vocabulary extension of a WordPiece (BERT-family) encoder for the hospital's own text (framework-free).

What is added, read from the texts through the tokenizer's own normalizer and pre-tokenizer (so every
added entry is in the form the tokenizer will look it up in):

- **characters** the vocabulary lacks, each in the form it occurs (word-initial `x`, inside a word
  `##x`). WordPiece turns a whole word into `[UNK]` when one position matches no entry, so once every
  character seen has both of its forms no character of these texts maps to `[UNK]` any more. Chinese and
  Japanese ideographs are already single words (BERT's basic tokenizer isolates CJK ideographs), so every
  ideograph seen becomes a token of its own ("CJK: every character seen"). Adding a one-character entry
  changes nothing for a word that tokenized without `[UNK]` before (the greedy longest match already
  found an entry at least that long at every position).
- **Hangul syllables**, every one seen, as whole-syllable pieces (word-initial and `##` forms). Hangul
  is *not* a CJK ideograph block: the basic tokenizer keeps a Korean word (eojeol) whole, and an uncased
  BERT's normalizer decomposes every syllable into conjoining jamo (NFD, part of accent stripping), so
  "수액 주입중" fell apart into 13 jamo pieces. The syllable entries are stored in the tokenizer's
  normalized (jamo) form; offsets still map each piece back to whole syllables of the original text. So
  Korean is handled as **syllables**, and words stay words (whole-word masking masks an eojeol).
- **frequent words** (alphabetic scripts and Korean): a word seen at least `min_word_count` times that
  the tokenizer (with the characters above) splits into at least `min_word_pieces` pieces gets an entry
  of its own, most frequent and most split first, at most `max_new_words`.

Normalization pitfalls, kept deliberately: an uncased BERT lower-cases and strips accents before the
vocabulary is consulted, so Swedish "klåda" is looked up as "klada" and the added word is "klada" (the
same token then serves "Klåda", "KLÅDA" and the non-word "klada"; "får"/"far" and "hål"/"hal" share
tokens the same way). Turning accent stripping off would change how every accented word the encoder
already knows is read, which is exactly what extension must not do; a cased encoder, whose normalizer
keeps accents, gets "klåda" itself.

Embeddings: old tokens keep their ids and rows; new ids follow the old vocabulary. A new row is the mean
of the old embeddings of the pieces the old vocabulary split it into (a Korean syllable: its jamo; a
Swedish word: its word pieces); an entry the old vocabulary could only read as `[UNK]` (a Chinese
character) starts at the mean of all old rows, and continued pre-training then tells it apart.
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "VocabularyConfig",
    "VocabularyExtension",
    "TokenizerStats",
    "tokenizer_stats",
    "plan_extension",
    "extend_encoder",
    "TOKENIZER_FILES",
]

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")
CONTINUATION = "##"


@dataclass(frozen=True)
class VocabularyConfig:
    min_word_count: int = 5  # a word seen this often ...
    min_word_pieces: int = 2  # ... and split into this many pieces gets an entry of its own
    max_new_words: int = 10_000
    add_words: bool = True  # False: characters and Hangul syllables only

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> VocabularyConfig:
        return cls(**{k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class VocabularyExtension:
    """What was added: the new entries in id order (from `first_new_id`) and how many of each kind."""

    vocab_size_before: int
    vocab_size_after: int
    first_new_id: int
    characters: int
    syllables: int
    words: int
    tokens: tuple[str, ...] = ()
    fallback_rows: int = 0  # rows that started at the mean embedding (the old vocabulary read them as [UNK])

    @property
    def added(self) -> int:
        return len(self.tokens)

    def to_dict(self, *, examples: int = 20) -> dict[str, Any]:
        return {
            "vocab_size_before": self.vocab_size_before,
            "vocab_size_after": self.vocab_size_after,
            "first_new_id": self.first_new_id,
            "added": self.added,
            "characters": self.characters,
            "syllables": self.syllables,
            "words": self.words,
            "fallback_rows": self.fallback_rows,
            "examples": list(self.tokens[:examples]),
        }


@dataclass(frozen=True)
class TokenizerStats:
    """How a tokenizer reads texts: characters (not whitespace) covered by [UNK], pieces per word."""

    characters: int
    unk_characters: int
    words: int
    pieces: int
    unk_examples: tuple[str, ...] = field(default=())

    @property
    def unk_rate(self) -> float:
        return self.unk_characters / self.characters if self.characters else 0.0

    @property
    def pieces_per_word(self) -> float:
        return self.pieces / self.words if self.words else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "characters": self.characters,
            "unk_characters": self.unk_characters,
            "unk_rate": round(self.unk_rate, 6),
            "words": self.words,
            "pieces": self.pieces,
            "pieces_per_word": round(self.pieces_per_word, 4),
            "unk_examples": list(self.unk_examples),
        }


def _backend(tokenizer):
    return getattr(tokenizer, "backend_tokenizer", None) or tokenizer._tokenizer


def _plain_backend(tokenizer):
    """A copy of the Rust tokenizer without the truncation and padding some tokenizer.json files switch on
    (the shipped MiniLM's cuts at 128): statistics must see whole texts."""
    from tokenizers import Tokenizer

    backend = Tokenizer.from_str(_backend(tokenizer).to_str())
    backend.no_truncation()
    backend.no_padding()
    return backend


def tokenizer_stats(tokenizer, texts: Iterable[str], *, batch_size: int = 256, examples: int = 10) -> TokenizerStats:
    """[UNK] rate over the non-whitespace characters and pieces per pre-tokenizer word, as the tokenizer
    itself reads `texts` (no special tokens).

    Args: a Hugging Face fast tokenizer, the texts. Result: TokenizerStats (`unk_examples`: a few
    distinct characters read as [UNK]).
    """
    backend = _plain_backend(tokenizer)
    unk_id = backend.token_to_id(str(tokenizer.unk_token)) if tokenizer.unk_token is not None else None
    chars = unk_chars = words = pieces = 0
    seen_unk: dict[str, None] = {}
    batch: list[str] = []

    def flush():
        nonlocal chars, unk_chars, words, pieces
        for text, enc in zip(batch, backend.encode_batch(batch, add_special_tokens=False), strict=True):
            unk = bytearray(len(text))
            for tid, (s, e) in zip(enc.ids, enc.offsets, strict=True):
                if tid == unk_id:
                    unk[s:e] = b"\x01" * (e - s)
            for ch, flag in zip(text, unk, strict=True):
                if not ch.isspace():
                    chars += 1
                    if flag:
                        unk_chars += 1
                        if len(seen_unk) < examples:
                            seen_unk.setdefault(ch)
            ids = [w for w in enc.word_ids if w is not None]
            pieces += len(ids)
            words += len(set(ids))
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return TokenizerStats(chars, unk_chars, words, pieces, tuple(seen_unk))


# ---------------------------------------------------------------------------------------------------------
# Planning: which entries to add

_JAMO_SYLLABLE = re.compile("[\u1100-\u115f][\u1160-\u11a7][\u11a8-\u11ff]?")


def _is_cjk_ideograph(ch: str) -> bool:
    # The blocks BERT's basic tokenizer isolates (`_is_chinese_char` / handle_chinese_chars).
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_hangul_unit(unit: str) -> bool:
    return len(unit) > 1 and _JAMO_SYLLABLE.fullmatch(unit) is not None or (
        len(unit) == 1 and 0xAC00 <= ord(unit) <= 0xD7A3
    )


def _units(word: str) -> list[str]:
    """A normalized word's characters, a decomposed Hangul syllable (leading + vowel [+ trailing] jamo)
    kept together as one unit."""
    out, i = [], 0
    while i < len(word):
        m = _JAMO_SYLLABLE.match(word, i)
        j = m.end() if m else i + 1
        out.append(word[i:j])
        i = j
    return out


def wordpiece(word: str, vocab, *, continuing: bool = False, max_chars: int = 100) -> list[str] | None:
    """WordPiece's greedy longest-match-first split of a normalized word (None: the word is [UNK]).

    `continuing`: the word continues another (its first piece needs the ## prefix too).
    """
    if len(word) > max_chars:
        return None
    pieces, i = [], 0
    while i < len(word):
        j = len(word)
        found = None
        while j > i:
            sub = word[i:j]
            if i > 0 or continuing:
                sub = CONTINUATION + sub
            if sub in vocab:
                found = sub
                break
            j -= 1
        if found is None:
            return None
        pieces.append(found)
        i = j
    return pieces


def _tokenizer_json(tokenizer) -> dict:
    data = json.loads(_backend(tokenizer).to_str())
    if (data.get("model") or {}).get("type") != "WordPiece":
        raise ValueError(
            "vocabulary extension needs a WordPiece (BERT-family) tokenizer; this one is "
            f"{(data.get('model') or {}).get('type')!r} (continue pre-training without extension)"
        )
    return data


def _word_counts(tokenizer, texts: Iterable[str]) -> Counter:
    backend = _backend(tokenizer)
    normalizer, pre = backend.normalizer, backend.pre_tokenizer
    counts: Counter = Counter()
    for text in texts:
        norm = normalizer.normalize_str(text) if normalizer is not None else text
        if pre is None:
            counts.update(norm.split())
        else:
            counts.update(w for w, _ in pre.pre_tokenize_str(norm))
    return counts


def plan_extension(tokenizer, texts: Sequence[str], config: VocabularyConfig | None = None) -> tuple[list[str], dict]:
    """The entries to add to a WordPiece vocabulary for `texts`, in the order they get ids.

    Result: (entries, counts by kind {"characters", "syllables", "words"}). Errors: ValueError for a
    tokenizer that is not WordPiece.
    """
    config = config or VocabularyConfig()
    data = _tokenizer_json(tokenizer)
    vocab = data["model"]["vocab"]
    max_chars = int(data["model"].get("max_input_chars_per_word") or 100)
    counts = _word_counts(tokenizer, texts)

    char_counts: Counter = Counter()
    syllable_counts: Counter = Counter()
    for word, c in counts.items():
        for i, unit in enumerate(_units(word)):
            piece = unit if i == 0 else CONTINUATION + unit
            if piece in vocab:
                continue
            if _is_hangul_unit(unit):
                syllable_counts[piece] += c
            elif len(unit) == 1:
                char_counts[piece] += c
    stage1 = [p for p, _ in sorted({**char_counts, **syllable_counts}.items(), key=lambda kv: (-kv[1], kv[0]))]
    known = set(vocab) | set(stage1)

    # A word the greedy match still cannot read (a jamo sequence that is no syllable, a mark left alone by
    # the normalizer): add its characters one by one, so that no character of these texts stays [UNK].
    for word in counts:
        if len(word) <= max_chars and wordpiece(word, known, max_chars=max_chars) is None:
            for i, ch in enumerate(word):
                piece = ch if i == 0 else CONTINUATION + ch
                if piece not in known:
                    known.add(piece)
                    stage1.append(piece)
                    char_counts[piece] += counts[word]

    words: list[str] = []
    if config.add_words:
        scored = []
        for word, c in counts.items():
            if c < config.min_word_count or word in known or len(_units(word)) < 2:
                continue
            if not unicodedata.normalize("NFC", word).isalpha():  # numbers, codes, mixed tokens
                continue
            pieces = wordpiece(word, known, max_chars=max_chars)
            if pieces is not None and len(pieces) >= config.min_word_pieces:
                scored.append((-(c * (len(pieces) - 1)), word))
        words = [w for _, w in sorted(scored)[: config.max_new_words]]
    kinds = {
        "characters": sum(1 for p in stage1 if p in char_counts),
        "syllables": sum(1 for p in stage1 if p in syllable_counts and p not in char_counts),
        "words": len(words),
    }
    return stage1 + words, kinds


# ---------------------------------------------------------------------------------------------------------
# Applying: tokenizer files and embedding rows


def write_extended_tokenizer(tokenizer, source_dir: str | Path, out_dir: str | Path, entries: Sequence[str]) -> int:
    """Copy the tokenizer files of `source_dir` to `out_dir` with `entries` appended to the vocabulary
    (tokenizer.json's WordPiece vocabulary and vocab.txt, same ids). Result: the first new id.

    Errors: ValueError when the tokenizer keeps added tokens at ids where new entries would go.
    """
    data = _tokenizer_json(tokenizer)
    vocab: dict[str, int] = data["model"]["vocab"]
    first = max(vocab.values()) + 1
    taken = [t["id"] for t in data.get("added_tokens", ()) if t["id"] >= first]
    if taken:
        raise ValueError(f"the tokenizer has added tokens at ids {taken[:5]} after its vocabulary; cannot extend it")
    for k, entry in enumerate(entries):
        if entry in vocab:
            raise ValueError("an entry to add is already in the vocabulary")
        vocab[entry] = first + k
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if name != "tokenizer.json" and (Path(source_dir) / name).is_file():
            shutil.copyfile(Path(source_dir) / name, out / name)
    (out / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    # vocab.txt: one entry a line in id order; a slow tokenizer (or a fast one rebuilt from it) agrees.
    ordered = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in ordered] != list(range(len(ordered))):
        raise ValueError("the vocabulary's ids are not contiguous; cannot write vocab.txt")
    (out / "vocab.txt").write_text("".join(f"{t}\n" for t, _ in ordered), encoding="utf-8")
    return first


def init_new_rows(old_weight, old_vocab: dict[str, int], entries: Sequence[str], unk_token: str | None):
    """Rows for `entries`: the mean of their old pieces' rows, else (read as [UNK] before) the mean of
    all old rows. Result: (tensor [len(entries), dim], number of fallback rows)."""
    import torch

    fallback = old_weight.mean(dim=0)
    rows, n_fallback = [], 0
    for entry in entries:
        continuing = entry.startswith(CONTINUATION) and len(entry) > len(CONTINUATION)
        bare = entry[len(CONTINUATION):] if continuing else entry
        pieces = wordpiece(bare, old_vocab, continuing=continuing, max_chars=10_000)
        ids = [old_vocab[p] for p in pieces or () if p != unk_token]
        if ids:
            rows.append(old_weight[torch.tensor(ids)].mean(dim=0))
        else:
            rows.append(fallback)
            n_fallback += 1
    if not rows:
        return old_weight.new_zeros((0, old_weight.shape[1])), 0
    return torch.stack(rows), n_fallback


def extend_encoder(model, tokenizer, source_dir: str | Path, texts: Sequence[str], out_tokenizer_dir: str | Path,
                   config: VocabularyConfig | None = None):
    """Extend `tokenizer`'s vocabulary for `texts`, write the new tokenizer files and grow `model`'s input
    embeddings in place (old rows unchanged, new rows initialised from their old pieces).

    Args: a Hugging Face encoder (anything with get_input_embeddings / resize_token_embeddings), its fast
    WordPiece tokenizer and directory, the texts, where to write the tokenizer. Result: (the reloaded
    extended tokenizer, VocabularyExtension). Errors: ValueError for a non-WordPiece tokenizer.
    """
    import torch
    from transformers import AutoTokenizer

    old_vocab = dict(_tokenizer_json(tokenizer)["model"]["vocab"])
    entries, kinds = plan_extension(tokenizer, texts, config)
    first = write_extended_tokenizer(tokenizer, source_dir, out_tokenizer_dir, entries)
    emb = model.get_input_embeddings()
    old_rows = emb.weight.shape[0]
    new_size = max(old_rows, first + len(entries))
    with torch.no_grad():
        old_weight = emb.weight.detach().clone()
        new_rows, n_fallback = init_new_rows(old_weight[:first], old_vocab, entries, tokenizer.unk_token)
        if new_size != old_rows:
            model.resize_token_embeddings(new_size, mean_resizing=False)
        if entries:
            model.get_input_embeddings().weight[first : first + len(entries)] = new_rows.to(old_weight.dtype)
    new_tok = AutoTokenizer.from_pretrained(str(out_tokenizer_dir), local_files_only=True, use_fast=True)
    return new_tok, VocabularyExtension(
        vocab_size_before=len(old_vocab),
        vocab_size_after=len(old_vocab) + len(entries),
        first_new_id=first,
        characters=kinds["characters"],
        syllables=kinds["syllables"],
        words=kinds["words"],
        tokens=tuple(entries),
        fallback_rows=n_fallback,
    )
