"""Rasa custom actions: thin adapters from the conversation to the ``hemu`` domain package.

Each module is one flow; every reply goes out by response name so its wording (zh and en) lives
in ``domain.yml`` or ``content/``.
"""

from hemu import logs
from hemu.guidance import load_content
from hemu.messages import load_messages
from hemu.settings import load_settings
from hemu.when import load_time_words

# The action server imports this package when it starts: bad configuration stops it there, with the
# file, entry and problem, instead of surfacing as a failed reply in the middle of a resident's report.
logs.install()  # log lines hold ids, not residents' words (hemu.logs)
load_settings()
load_content()
load_messages()
load_time_words()
