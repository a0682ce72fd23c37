"""What residents write that is hard on a message-length budget, as a hypothesis strategy: emoji (two
UTF-16 units, some joined by ZWJ into one picture), astral CJK (two units), HTML's specials (longer escaped
than seen), text that looks like markup or an escape, and most often far more of it than fits."""

from __future__ import annotations

from hypothesis import strategies as st

PIECES = ("😡", "𠀀", "👨‍👩‍👧", "🇨🇳", "<", ">", "&", "&amp;", '"', "噪音", "a", " ", "\n", "<b>", "&#x1F600;")

hostile: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda piece, count: piece * count,
        st.sampled_from(PIECES),
        st.sampled_from([700, 2100, 6000, 12_000]) | st.integers(0, 6000),  # far over the limit, often
    ),
    st.lists(st.sampled_from(PIECES), max_size=400).map("".join),
)
