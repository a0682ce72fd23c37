"""Custom Rasa graph components: the danger detector and the safety policy.

Rasa imports them by dotted path from ``config.yml``; the repository root must be on ``sys.path``
(``rasa`` run from the repository root does that).
"""
