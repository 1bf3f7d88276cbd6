"""The protocol every trainable model component follows (framework-free): NER, relation extraction and note
classification implement it, so that saving, loading (extraction/artifacts.py), training
(training.train_component) and the pipeline treat them alike without asking which one they hold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

from annotations.formats.document import Document


class Component(Protocol):
    name: ClassVar[str]  # the kind written to component.json: "ner", "re", "note"
    config: Any  # a dataclass with to_dict() / from_dict()
    module: Any  # the torch module (encoder + head), None until built
    tokenizer: Any

    def state(self) -> dict[str, Any]:
        """Config and label maps, JSON-serialisable: with the encoder and tokenizer, all from_state needs."""
        ...

    @classmethod
    def from_state(cls, state: dict[str, Any], encoder_module: Any, tokenizer: Any) -> Component:
        """The component built around a loaded encoder, ready for its saved weights."""
        ...

    def predict(self, docs: Sequence[Document], batch_size: int = 32) -> list[Document]: ...

    def score(self, docs: Sequence[Document], *args: Any, **kwargs: Any) -> dict[str, float]: ...
