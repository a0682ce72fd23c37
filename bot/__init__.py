"""Hemu's Telegram gateway: resident relay to Rasa, officer console, outbox notifier, promise watcher.

Thin adapters over :mod:`hemu` (cases, roster, promises, store). ``python -m bot`` runs it.
"""
