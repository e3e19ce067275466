"""The dashboard's movement chart: promotions above the axis, demotions below, all inside the picture."""

import datetime

from hypothesis import given
from hypothesis import strategies as st

from coaching.charts import movement_chart

DAY = datetime.date(2026, 11, 1)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)), max_size=90))
def test_every_bar_stays_inside_and_on_its_side_of_the_axis(counts):
    days = [(DAY + datetime.timedelta(days=i), up, down, f"/d{i}") for i, (up, down) in enumerate(counts)]
    chart = movement_chart(days, width=640, height=160)
    assert len(chart.bars) == sum(bool(up) + bool(down) for up, down in counts)
    for bar in chart.bars:
        assert 0 <= bar.x and bar.x + bar.width <= chart.width + 0.1
        assert 0 <= bar.y and bar.y + bar.height <= chart.height + 0.1
        if bar.direction == "up":
            assert abs(bar.y + bar.height - chart.axis_y) < 0.11
        else:
            assert bar.y == chart.axis_y


def test_the_biggest_day_reaches_the_edge_and_both_sides_share_one_scale():
    chart = movement_chart([(DAY, 10, 5, "/a")], width=100, height=100, pad=0)
    up, down = chart.bars
    assert (up.height, down.height) == (50.0, 25.0)
    assert movement_chart([]).empty
