"""The class's tally chart: bars equal to the counts, the title and caption computed from them."""

from viz.charts.rooms import WAITING, tally_chart
from viz.charts.style import KIND


def test_bars_title_and_headline_say_the_counts():
    counts = {"plain-56": 2, "ResNet-56": 1}
    fig, cap = tally_chart(counts, present=4)
    bar = fig.data[0]
    assert list(bar.y) == [2, 1] and list(bar.marker.color) == [WAITING, WAITING]
    assert fig.layout.title.text == "3 of 4 answered"
    assert cap.headline == "3 of 4 answered; most chose “plain-56” (2). Split: plain-56: 2, ResNet-56: 1."
    assert "can change" in str(cap)


def test_after_the_reveal_the_answer_is_marked_and_the_share_right_is_said():
    fig, cap = tally_chart({"plain-56": 2, "ResNet-56": 1}, present=3, answer="ResNet-56")
    assert list(fig.data[0].marker.color) == [KIND[False], KIND[True]]
    assert fig.layout.title.text == "3 of 3 answered (final)"
    assert cap.headline.startswith("1 of 3 predicted the answer, “ResNet-56” (33%)") and "frozen" in str(cap)


def test_an_empty_room_and_a_room_without_votes():
    assert tally_chart({"a": 0}, present=0)[1].headline == "No student has joined yet."
    assert tally_chart({"a": 0}, present=5)[1].headline == "No prediction yet from the 5 students in the room."


def test_the_axis_counts_whole_students():
    """No repeated tick labels ('0 0 0 1 1' from a 0.2 step printed as integers): ticks at whole numbers, at most ~6."""
    for counts in ({"a": 0, "b": 0}, {"a": 1, "b": 0}, {"a": 3, "b": 2}, {"a": 41, "b": 19}):
        axis = tally_chart(counts, present=60)[0].layout.yaxis
        ticks = [axis.tick0 + i * axis.dtick for i in range(100) if axis.tick0 + i * axis.dtick <= axis.range[1]]
        assert axis.dtick == int(axis.dtick) >= 1 and 2 <= len(ticks) <= 7, (counts, axis.dtick, ticks)
