"""Fault injection (issue 13, point 6): Hemu's real processes under SIGKILL, a Telegram outage, flood
control and 5xx storms, Rasa or the action server down or slow, a locked store and a flooding chat.
``make chaos`` runs the long version (``-m chaos``); ``make test`` a smoke version of every scenario."""
