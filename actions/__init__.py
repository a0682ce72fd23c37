"""Rasa custom actions: thin adapters from the conversation to the ``hemu`` domain package.

Each module is one flow; every reply goes out by response name so its wording (zh and en) lives
in ``domain.yml`` or ``content/``.
"""
