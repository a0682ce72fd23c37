"""Actors and recipients as the store writes them: built and read in one place."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hemu import parties
from hemu.parties import Party

idents = st.text(min_size=1).filter(lambda text: text.strip() == text and text)


@given(idents)
def test_every_officer_and_resident_reads_back_as_written(ident: str) -> None:
    assert Party.parse(parties.officer(ident)) == Party("officer", ident)
    assert Party.parse(parties.resident(ident)) == Party("resident", ident)
    assert str(Party("resident", ident)) == parties.resident(ident)


def test_the_stored_form_is_what_earlier_databases_hold() -> None:
    """Rows written before this module existed must still be read: the format is part of the schema."""
    assert parties.officer("wang_li") == "officer:wang_li"
    assert parties.resident("42") == "resident:42"


def test_actors_that_are_no_party_are_not_read_as_one() -> None:
    for text in ("system", "admin", "officer:", "supervisor:wang_li", ":42", ""):
        assert Party.parse(text) is None
