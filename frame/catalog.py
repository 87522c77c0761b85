"""The models a session may choose: the zoo's catalog, with who sees which model and what a page may open on."""

import pandas as pd
import streamlit as st

from models import zoo

MINE = "my_models"  # session state: names of the models this session trained on the Train page
AT_CHANCE = 0.05  # a model within 5 points of guessing never trained: marked wherever it can be chosen, never a default
WHO_SEES = ("Models you train here are yours: they are listed on every page for you, labelled \"yours\", and for nobody "
            "else, so no run of yours changes what the rest of the class sees. Defaults always use the shipped models.")


def remember_mine(name: str):
    """The Train page calls this for every model it saves: this session sees it, labelled as its own."""
    st.session_state.setdefault(MINE, [])
    if name not in st.session_state[MINE]:
        st.session_state[MINE].append(name)


def zoo_catalog() -> pd.DataFrame:
    """The models this session may choose, with `label` (what pages show), `mine`, `trained` (False: at chance level)
    and `default_ok` (shipped and trained: what a page may open on). Shipped models for everyone; models trained on
    the Train page only for the session that trained them (WHO_SEES); other user-zoo models (imported or trained with
    the CLI on this machine) for everyone, labelled as the user zoo's. Re-read every 30 s and when SKIPLAB_ZOO changes."""
    cat = _zoo_catalog(tuple(str(folder) for _, folder in zoo.folders())).copy()
    mine = set(st.session_state.get(MINE, ()))
    keep = (cat.source == "shipped") | cat.name.isin(mine) | ~cat.from_train_page
    cat = cat[keep].drop_duplicates("name").reset_index(drop=True)
    cat["mine"] = cat.name.isin(mine)
    cat["label"] = [_label(r) for r in cat.itertuples()]
    cat["default_ok"] = (cat.source == "shipped") & cat.trained
    return cat


def _label(r) -> str:
    kind = f"{'ResNet' if r.skip else 'plain'}-{r.depth}"
    published = f"published by {r.author}" if isinstance(r.author, str) else "published"
    where = "yours, " + r.name if r.mine else published if r.origin == "published" else (
        "user zoo: " + r.name if r.source != "shipped" else "")
    chance = "" if r.trained else "never trained: at chance"
    extra = "; ".join(p for p in (where, chance) if p)
    return f"{kind} ({extra})" if extra else kind


@st.cache_data(ttl=30, show_spinner=False)
def _zoo_catalog(folders: tuple) -> pd.DataFrame:
    cat = zoo.list()
    cards = {r.name: zoo.card(r.name) if r.source != "shipped" else {} for r in cat.itertuples()}
    cat["from_train_page"] = [str(cards[n].get("command", "")).startswith("Train page") for n in cat.name]
    classes = [len(cards[n].get("classes") or ()) or 10 for n in cat.name]
    acc = pd.to_numeric(cat.test_acc, errors="coerce")  # unknown (no accuracy on the card): not marked
    cat["trained"] = [not (a <= 1 / k + AT_CHANCE) for a, k in zip(acc, classes, strict=True)]
    return cat
