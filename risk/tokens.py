"""A spaCy tokenizer that splits Han characters one by one and keeps Latin words whole.

Why: the danger classifier must generalise across word boundaries that jieba draws differently
("喝药" / "喝农药" / "把药都喝了"). Character n-grams over Chinese and word n-grams over English give
it one representation for both languages and for mixed messages, with no trained segmenter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable

import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab

TOKENIZER_NAME = "hemu.char_tokenizer.v1"

# One Han character, a Latin word (with an inner apostrophe: don't, he'd), a number, or any other
# non-space symbol.
_TOKEN = re.compile(
    r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]" r"|[A-Za-z]+(?:['’][A-Za-z]+)?" r"|\d+" r"|\S"
)


class CharTokenizer:
    """Callable tokenizer with no state, so (de)serialisation is a no-op."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab

    def __call__(self, text: str) -> Doc:
        words: list[str] = []
        spaces: list[bool] = []
        for match in _TOKEN.finditer(text):
            words.append(match.group())
            end = match.end()
            spaces.append(end < len(text) and text[end].isspace())
        return Doc(self.vocab, words=words, spaces=spaces)

    def pipe(self, texts: Iterable[str], batch_size: int = 1000) -> Iterable[Doc]:
        for text in texts:
            yield self(text)

    def to_disk(self, path: Path, **kwargs: Any) -> None:
        """Nothing to save; spaCy calls this when the pipeline is saved."""

    def from_disk(self, path: Path, **kwargs: Any) -> CharTokenizer:
        return self

    def to_bytes(self, **kwargs: Any) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs: Any) -> CharTokenizer:
        return self


@spacy.registry.tokenizers(TOKENIZER_NAME)
def create_char_tokenizer() -> Callable[[spacy.Language], CharTokenizer]:
    """Registry entry so a saved pipeline can be loaded again with ``spacy.load``."""

    def make(nlp: spacy.Language) -> CharTokenizer:
        return CharTokenizer(nlp.vocab)

    return make


def blank_char_pipeline() -> spacy.Language:
    """A language-neutral pipeline whose tokenizer is :class:`CharTokenizer`."""
    return spacy.blank("xx", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER_NAME}}})
