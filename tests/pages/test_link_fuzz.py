"""Every query parameter of every page, fuzzed: out of range, non-numeric, nan, inf, negative, huge, unicode, repeated
keys, very long values. Each value a widget cannot use gives the widget its default and one note naming the key,
never a traceback or an error box. In CI: one kind of nonsense per page (rotating through the kinds);
the full sweep (every kind on every page) is marked slow. The pages run on the tiny zoo (tests/conftest.py)."""

import pytest

from tests.frame.test_links import NONSENSE, TAKEN, as_link, open_link

FUZZ = {
    "out of range": "123456789",
    "negative": "-7",
    "non-numeric": "abc",
    "nan": "nan",
    "inf": "inf",
    "-inf": "-Infinity",
    "huge": "1e400",
    "huge integer": "9" * 40,
    "unicode": "Ünï©ødé ✓ 名前 \u202e",
    "very long": "x" * 20_000,
    "repeated keys": ["3", "abc", "nan"],
    "markdown": "**bold** <script>alert(1)</script> `code`",
}
KINDS = list(FUZZ)
PAGES = list(NONSENSE)
SAMPLE = [(page, KINDS[(5 * i) % len(KINDS)]) for i, page in enumerate(PAGES)]
SWEEP = [(page, kind) for page in PAGES for kind in KINDS if (page, kind) not in SAMPLE]


def check(page: str, kind: str):
    _, defaults = NONSENSE[page]
    raw = FUZZ[kind] if isinstance(FUZZ[kind], list) else [FUZZ[kind]]
    at = open_link(page, {k: FUZZ[kind] for k in [*defaults, "present"]})  # no exception, no st.error
    said = " ".join(i.value for i in at.info)
    assert at.title, "the page did not draw its title"
    for k, default in defaults.items():
        if k not in at.session_state:  # its widget belongs to a view the page fell back from (e.g. Residuals'
            assert said.count(f"`{k}=") <= 1, (k, said[:500])  # lesion settings): not drawn; noted by the frame
            continue  # only where it cannot be a number at all (nan, inf, 1e400)
        value = at.session_state[k]
        if as_link(value) == sorted(raw) if isinstance(value, list) else as_link(value) == raw:
            continue  # a value this widget can take (e.g. a negative number where negatives are allowed)
        if k in TAKEN:  # (NONSENSE holds a valid link value for these, not their default)
            assert said.count(f"`{k}=") <= 1, (k, said[:500])
            continue
        assert value == default, (k, value, default)
        assert said.count(f"`{k}=") == 1, (k, said[:500])  # one sentence for it
    assert "Traceback" not in said and "Error:" not in said


@pytest.mark.parametrize("page,kind", SAMPLE, ids=[f"{p}-{k}" for p, k in SAMPLE])
def test_nonsense_in_a_link_gives_the_default_and_one_note(tiny_zoo, page, kind):
    check(page, kind)


@pytest.mark.slow
@pytest.mark.parametrize("page,kind", SWEEP, ids=[f"{p}-{k}" for p, k in SWEEP])
def test_every_kind_of_nonsense_on_every_page(tiny_zoo, page, kind):
    check(page, kind)
