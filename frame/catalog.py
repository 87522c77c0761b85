"""The models a session may choose: the zoo's catalog, with who sees which model and what a page may open on."""

import pandas as pd
import streamlit as st

from models import registry, zoo
from viz.words import model_name

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
    the CLI on this machine) for everyone, labelled as the user zoo's. Re-read when a card is added, removed or
    rewritten (models.registry.folders_version: a stat per card) and when SKIPLAB_ZOO changes."""
    cat = _zoo_catalog(registry.folders_version()).copy()
    mine = set(st.session_state.get(MINE, ()))
    keep = (cat.source == "shipped") | cat.name.isin(mine) | ~cat.from_train_page
    cat = cat[keep].drop_duplicates("name").reset_index(drop=True)
    cat["mine"] = cat.name.isin(mine)
    cat["label"] = [_label(r) for r in cat.itertuples()]
    cat["default_ok"] = (cat.source == "shipped") & cat.trained
    return cat


def _label(r) -> str:
    """The model's name as a person says it (viz.words.model_name), marked where it is yours or never trained; a
    published network names its author (two families of published weights share depths)."""
    published = f"published by {r.author}" if r.origin == "published" and isinstance(r.author, str) else ""
    where = "yours" if r.mine else published if published else "user zoo" if r.source != "shipped" else ""
    chance = "" if r.trained else "never trained: at chance"
    extra = "; ".join(p for p in (where, chance) if p)
    kind = f"{'ResNet' if r.skip else 'plain'}-{r.depth}"
    name = kind if published or model_name(r.name) == r.name else model_name(r.name)
    return f"{name} ({extra})" if extra else name


@st.cache_data(max_entries=8, show_spinner=False)
def _zoo_catalog(version: tuple) -> pd.DataFrame:
    return pd.DataFrame([_row(r) for r in registry.models()], columns=zoo.COLUMNS + ["from_train_page", "trained", "built_in_data"])


def _row(r: registry.ModelRecord) -> dict:
    """A catalog row of a registry record: zoo.list()'s columns plus from_train_page, trained and built_in_data (the
    model's data set is shapes, CIFAR-10 or its sample, not a folder)."""
    trained = r.test_acc is None or not r.test_acc <= 1 / (len(r.classes) or 10) + AT_CHANCE  # unknown: not marked
    return {"name": r.name, "dataset": r.dataset.name, "depth": r.depth, "skip": r.skip, "origin": r.origin,
            "author": r.author, "test_acc": r.test_acc, "sample_acc": r.sample_acc, "train_acc": r.train_acc,
            "epochs": r.epochs, "seconds": r.seconds, "params": r.params, "source": r.where, "path": str(r.path),
            "from_train_page": r.from_train_page, "trained": trained,
            "built_in_data": r.dataset.built_in}
