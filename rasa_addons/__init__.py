"""Code that runs inside the Rasa server but is not part of the trained model.

Graph components live in ``components/``, which the model's hash covers (editing them retrains);
what is here only changes how Rasa runs: :mod:`rasa_addons.tracker_store`.
"""
