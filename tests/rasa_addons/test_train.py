"""DIET saved without Adam's moments: the weights whole, the moments gone, the training untouched."""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from rasa_addons.train import save_without_moments
from scripts.train import model_path


def _trained_model() -> tf.keras.Model:
    tf.keras.utils.set_random_seed(7)
    model = tf.keras.Sequential([tf.keras.layers.Dense(8, input_shape=(4,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    model.fit(np.ones((16, 4)), np.ones((16, 2)), epochs=2, verbose=0)
    return model


def _moments(checkpoint: Path) -> list[str]:
    """Adam's slot variables: ``…/.OPTIMIZER_SLOT/optimizer/m/…`` (and ``/v/``) in the checkpoint's keys."""
    names = [name for name, _ in tf.train.list_variables(str(checkpoint))]
    return [name for name in names if "OPTIMIZER_SLOT" in name or "optimizer/_variables" in name]


def test_the_checkpoint_keeps_every_weight_and_no_moment(tmp_path: Path) -> None:
    model = _trained_model()
    model.save_weights(str(tmp_path / "full" / "w"), save_format="tf")
    assert _moments(tmp_path / "full" / "w")  # what Keras would have written: the test can see moments

    trained_optimizer = model.optimizer
    save_without_moments(model, str(tmp_path / "lean" / "w"))
    assert _moments(tmp_path / "lean" / "w") == []
    assert model.optimizer is trained_optimizer  # training could go on as before

    fresh = tf.keras.Sequential([tf.keras.layers.Dense(8, input_shape=(4,)), tf.keras.layers.Dense(2)])
    fresh.load_weights(str(tmp_path / "lean" / "w")).expect_partial()
    for saved, loaded in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, loaded)


@pytest.mark.rasa
def test_the_trained_models_diet_checkpoint_has_no_moments(tmp_path: Path) -> None:
    model = model_path()
    if not model.is_file():
        pytest.fail(f"no trained model at {model}: run `make train` (make test does)")
    with tarfile.open(model) as archive:
        members = [m for m in archive.getmembers() if "DIETClassifier" in m.name and ".tf_model." in m.name]
        archive.extractall(tmp_path, members=members, filter="data")
    index = next(tmp_path.rglob("*.tf_model.index"))
    checkpoint = index.with_suffix("")
    names = [name for name, _ in tf.train.list_variables(str(checkpoint))]
    assert any("embed" in name or "kernel" in name for name in names)
    assert _moments(checkpoint) == []
