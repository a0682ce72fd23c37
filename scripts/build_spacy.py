"""Builds the blank spaCy pipeline Rasa's SpacyNLP loads: Chinese, jieba segmenter, no download.

Trained spaCy pipelines cannot be installed here, and Hemu needs only tokens from spaCy: the
classifiers learn everything else from Hemu's own data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import spacy


def build(target: Path) -> None:
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", type=Path, nargs="?", default=Path("build/spacy/zh_jieba"))
    args = parser.parse_args()
    if (args.target / "config.cfg").is_file():
        print(f"spaCy pipeline already at {args.target}")
    else:
        build(args.target)
        print(f"spaCy pipeline built at {args.target}")
