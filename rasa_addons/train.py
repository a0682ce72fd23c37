"""``rasa train`` keeping DIET's weights without Adam's moments: the model archive a third the size.

Rasa saves a TensorFlow model with Keras's ``save_weights``, whose checkpoint holds the optimizer too:
two moment estimates per weight, twice the weights themselves. They are only read to go on training
(``rasa train --finetune``, which Hemu never does: its cache retrains from scratch when data change).
DIET's checkpoint was 300 MB of the archive's 190 MB compressed; every start of Rasa unpacked all of it
(~4 s on this machine). Saved here with a fresh, unused optimizer in place of the trained one: 100 MB.

Rasa's own load still reads such a model (its training step builds the moments, the checkpoint simply
has none to restore); Hemu's reads it without that step (:mod:`rasa_addons.fast_load`).

``python -m rasa_addons.train train …`` — the same arguments as ``rasa train`` (scripts/train.py).
"""

from __future__ import annotations

import sys
from typing import Any


def save_without_moments(model: Any, model_file_name: str, overwrite: bool = True) -> None:
    """``RasaModel.save`` with the optimizer swapped for an unused copy of itself while writing."""
    trained = model.optimizer
    if trained is not None:
        model.optimizer = type(trained).from_config(trained.get_config())
    try:
        model.save_weights(model_file_name, overwrite=overwrite, save_format="tf")
    finally:
        if trained is not None:
            model.optimizer = trained


def install() -> None:
    from rasa.utils.tensorflow.models import RasaModel

    RasaModel.save = save_without_moments  # type: ignore[method-assign,assignment]


def main() -> None:
    # As in rasa_addons.serve: TensorFlow's import of jax (for TF Lite) costs a second and serves nothing.
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    sys.argv = ["rasa", *sys.argv[1:]]
    from rasa.__main__ import main as rasa_main  # imported late: Rasa's start-up is heavy

    install()
    rasa_main()


if __name__ == "__main__":
    main()
