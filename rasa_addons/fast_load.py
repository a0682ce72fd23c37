"""DIET's weights loaded without a training step: the biggest part of Rasa's cold start went there.

Rasa builds a saved TensorFlow model's variables by *training it on one example* (``RasaModel.load``:
``compile`` + ``fit``), then overwrites every weight from the checkpoint and traces the prediction
function. The training step traces the whole backward pass and runs Adam on every variable — for
DIET's ~25 M parameters (the sparse input layers of the word and character n-gram vocabularies)
that was ~6 s of a ~22 s start on this machine (py-spy on ``rasa run``), for weights thrown away a
moment later. A forward pass builds the same variables: one eager prediction on the example Rasa
keeps for this, then the checkpoint, then the prediction function traced once (without AutoGraph's
source rewriting, another ~2 s). DIET's load went from 8.7–11.4 s to 0.8–0.9 s.

The answers are bit for bit those of Rasa's own load (tests/rasa_addons/test_fast_load.py compares
both on the outside evaluation set's messages). Fine-tuning (``rasa train --finetune``) and models without a
prediction example keep Rasa's path: they need the optimizer that the training step builds.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from rasa.utils import train_utils
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

_rasa_load = RasaModel.load.__func__  # type: ignore[attr-defined]


def _first_batch(data: RasaModelData) -> Any:
    generator, _ = train_utils.create_data_generators(model_data=data, batch_sizes=1, epochs=1, shuffle=False)
    return generator[0][0]


def load(
    cls: type[RasaModel],
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: RasaModelData | None = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    """``RasaModel.load`` with the variables built by a forward pass instead of a training step."""
    if finetune_mode or predict_data_example is None:
        return _rasa_load(
            cls, model_file_name, model_data_example, predict_data_example, finetune_mode, *args, **kwargs
        )
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    # The optimizer is kept as Rasa sets it (so a saved model looks the same); its slots stay unbuilt.
    model.compile(
        optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
        run_eagerly=config.get(RUN_EAGERLY),
    )
    model._training = False
    # Built eagerly, nothing traced or kept: prepare_for_predict's label embeddings come from the initial
    # weights, and the flag saying they are prepared stays unset.
    batch = _first_batch(predict_data_example)
    model.prepare_for_predict()  # the label side's layers
    model.batch_predict(batch)  # the text side's
    # A model saved by Rasa's own `rasa train` also holds Adam's moments, which inference never reads
    # (rasa_addons/train.py leaves them out): not restoring them is expected, not an error.
    model.load_weights(model_file_name).expect_partial()
    # Label embeddings from the loaded weights, and the prediction function traced once, as Rasa does —
    # without AutoGraph, which rewrote DIET's Python source for ~2 s: the prediction has no control flow
    # on tensors to convert (tracing would refuse one), so the graph is the same.
    model._tf_predict_step = tf.function(
        model.predict_step, input_signature=model._dynamic_signature(batch), autograph=False
    )
    model.run_inference(predict_data_example)
    return model


def install() -> None:
    """Called by :mod:`rasa_addons.serve` before Rasa loads its model."""
    RasaModel.load = classmethod(load)  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Rasa's own load again (the comparison test loads the model both ways)."""
    RasaModel.load = classmethod(_rasa_load)  # type: ignore[method-assign,assignment]
