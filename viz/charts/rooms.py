"""The class's tally of a step's predictions: one bar per choice, the answer marked once revealed. No torch."""

import textwrap

import plotly.graph_objects as go

from viz.charts.style import KIND, Caption, layout

WAITING = "#9aa0a6"  # bars before the reveal: no choice is singled out


def tally_chart(counts: dict, present: int, answer: str | None = None):
    """counts: {choice: students}, in the choices' order; present: students in the room; answer: the revealed
    answer (None before the reveal). Returns (figure, Caption) with the numbers in words."""
    answered = sum(counts.values())
    of = max(present, answered)
    colors = [WAITING if answer is None else KIND[c == answer] for c in counts]
    fig = go.Figure(go.Bar(x=[_wrap(c) for c in counts], y=list(counts.values()), marker_color=colors,
                           text=[f"{n} ({100 * n / answered:.0f}%)" if answered else "0" for n in counts.values()],
                           textposition="outside", cliponaxis=False))
    layout(fig, f"{answered} of {of} answered" + (" (final)" if answer is not None else ""), None, "students",
           height=360)
    top = max(1, *counts.values())  # whole students on the axis: a tick every 1, 2, 5, 10, ... (never 0, 0, 1, 1)
    step = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if top / s <= 6)
    fig.update_yaxes(tickformat="d", tick0=0, dtick=step, rangemode="tozero", range=[0, top * 1.25])
    fig.update_layout(hovermode="closest")
    return fig, Caption(_detail(counts, answered, of, answer), _headline(counts, answered, of, answer))


def _wrap(text: str, width: int = 22) -> str:
    """A long choice on several lines under its bar."""
    return "<br>".join(textwrap.wrap(text, width)) or text


def _headline(counts: dict, answered: int, of: int, answer: str | None) -> str:
    if not answered:
        return f"No prediction yet from the {of} students in the room." if of else "No student has joined yet."
    top = max(counts, key=counts.get)
    split = ", ".join(f"{c}: {n}" for c, n in counts.items())
    if answer is None:
        return f"{answered} of {of} answered; most chose “{top}” ({counts[top]}). Split: {split}."
    right = counts.get(answer, 0)
    return f"{right} of {answered} predicted the answer, “{answer}” ({100 * right / answered:.0f}%). Split: {split}."


def _detail(counts: dict, answered: int, of: int, answer: str | None) -> str:
    state = "The tally is frozen: votes closed at the reveal." if answer is not None else \
        "Students can change their prediction until the teacher reveals the answer; each student counts once."
    return f"{answered} of the {of} students present voted. {state}"
