"""The scenario plot's event labels never overlap (issue 9.15)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from itb.sim.plots import build_figure, group_labels

from .helpers import outcome


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), max_size=60),
       st.floats(0.01, 10, allow_nan=False))
def test_grouped_labels_are_never_closer_than_the_gap_and_keep_every_item(
        positions: list[float], gap: float) -> None:
    texts = [f"e{i % 3}" for i in range(len(positions))]
    groups = group_labels(positions, texts, gap)
    xs = [x for x, _, _ in groups]
    assert all(b - a >= gap for a, b in itertools.pairwise(xs))
    assert sorted(i for _, _, members in groups for i in members) == list(range(len(positions)))


def test_merged_labels_name_each_kind_once() -> None:
    groups = group_labels([1.0, 1.0, 1.01, 5.0], ["refill", "program", "refill", "call"], 0.5)
    assert [(x, text) for x, text, _ in groups] == [(1.0, "refill x2 + program"), (5.0, "call")]


def test_labels_on_a_busy_scenario_plot_do_not_overlap() -> None:
    # Stop, empty reservoir and a call within an hour, refill and program together, alarms.
    o = outcome("tenfold-programming-error")
    fig = build_figure(o.result, o.frame)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    boxes = [t.get_window_extent(renderer) for t in fig.findobj(
        lambda a: getattr(a, "get_gid", lambda: None)() == "event-label")]
    assert len(boxes) >= 3
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
