"""Trains the Rasa model only when its inputs changed: the model is cached by their hash.

Inputs are config.yml, domain.yml, data/, the risk data and lexicon, the custom components and the
spaCy build script. The model is written as models/hemu-<hash>.tar.gz; if that file exists,
nothing is trained. Rasa's own graph cache cannot see the risk files (they are read by a component,
not passed to it), so a real retrain always runs with --force.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# rasa_addons/train.py decides what goes into the archive (DIET's checkpoint without Adam's moments).
INPUTS = (
    "config.yml",
    "domain.yml",
    "data",
    "risk",
    "components",
    "scripts/build_spacy.py",
    "rasa_addons/train.py",
)
# Read at run time by the risk component and the gateway, never trained on: editing the danger rules
# needs a restart, not a new model.
RUN_TIME_ONLY = ("risk/rules.yml", "risk/rules.py")
KEEP_MODELS = 3


def input_files(root: Path = ROOT) -> list[Path]:
    files: list[Path] = []
    for name in INPUTS:
        path = root / name
        if path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file()
                and "__pycache__" not in p.parts
                and p.relative_to(root).as_posix() not in RUN_TIME_ONLY
            ]
        elif path.is_file():
            files.append(path)
    return sorted(files)


def model_hash(root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for path in input_files(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path = ROOT) -> Path:
    """The model for the current inputs; ``HEMU_MODEL`` names another one (e.g. to run an older model)."""
    if os.environ.get("HEMU_MODEL"):
        return Path(os.environ["HEMU_MODEL"])
    return root / "models" / f"hemu-{model_hash(root)}.tar.gz"


def prune(models: Path, keep: Path) -> None:
    """Keeps the newest few models so a station can roll back, and drops the rest."""
    old = sorted(models.glob("hemu-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in [p for p in old if p != keep][KEEP_MODELS - 1 :]:
        path.unlink()


def _shown(path: Path, root: Path) -> str:
    """Relative to the project when inside it; ``HEMU_MODEL`` may name a model anywhere."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def train(root: Path = ROOT) -> Path:
    target = model_path(root)
    if target.is_file():
        print(f"model up to date: {_shown(target, root)}")
        return target
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false"}
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa_addons.train",  # `rasa train`, DIET saved without the optimizer's moments
            "train",
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
            "--out",
            "models",
            "--force",
            "--quiet",
        ],
        cwd=root,
        env=env,
        check=True,
    )
    print(f"trained {_shown(target, root)} in {time.monotonic() - started:.0f} s")
    prune(root / "models", target)
    return target


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--print-path", action="store_true", help="print the model path and exit")
    args = parser.parse_args()
    if args.print_path:
        print(model_path())
    else:
        train()
