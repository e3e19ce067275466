"""Server-rendered SVG geometry for the trend chart (pure: numbers in, shapes out; no CDN)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

CHANNELS = ("live", "video", "storefront")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    channel: str
    day: datetime.date  # with `value`, the tooltip the page writes in its own language
    value: Decimal


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    followers_points: str  # an SVG polyline
    max_gmv: Decimal
    max_followers: int

    @property
    def empty(self) -> bool:
        return not self.bars


def trend_chart(rows, *, width: int = 640, height: int = 180, pad: int = 4) -> TrendChart:
    """rows: (date, live_gmv, video_gmv, storefront_gmv, followers) per day, oldest first.

    GMV by channel as stacked bars; followers as a line on their own scale.
    """
    rows = list(rows)
    if not rows:
        return TrendChart(width, height, (), "", Decimal(0), 0)
    max_gmv = max((r[1] + r[2] + r[3] for r in rows), default=Decimal(0)) or Decimal(1)
    max_followers = max(r[4] for r in rows) or 1
    slot = (width - 2 * pad) / len(rows)
    bar_width = max(slot * 0.8, 1)
    usable = height - 2 * pad
    bars, points = [], []
    for i, (day, live, video, storefront, followers) in enumerate(rows):
        x = pad + i * slot
        base = height - pad
        for channel, value in zip(CHANNELS, (live, video, storefront)):
            h = float(value / max_gmv) * usable
            if h > 0:
                base -= h
                bars.append(Bar(round(x, 1), round(base, 1), round(bar_width, 1), round(h, 1), channel, day, value))
        y = height - pad - (followers / max_followers) * usable
        points.append(f"{round(x + bar_width / 2, 1)},{round(y, 1)}")
    return TrendChart(width, height, tuple(bars), " ".join(points), max_gmv, max_followers)


@dataclass(frozen=True)
class MovementBar:
    x: float
    y: float
    width: float
    height: float
    direction: str  # "up" (promotions, above the axis) or "down" (demotions, below it)
    day: datetime.date
    value: int
    url: str


@dataclass(frozen=True)
class MovementChart:
    width: int
    height: int
    axis_y: float
    bars: tuple[MovementBar, ...]
    max_value: int

    @property
    def empty(self) -> bool:
        return not self.bars


def movement_chart(days, *, width: int = 640, height: int = 160, pad: int = 4) -> MovementChart:
    """days: (date, promoted, demoted, url) per day, oldest first. Promotions rise above the middle
    axis, demotions hang below it, on one scale so the two compare."""
    days = list(days)
    axis_y = height / 2
    if not days:
        return MovementChart(width, height, axis_y, (), 0)
    max_value = max((max(up, down) for _day, up, down, _url in days), default=0) or 1
    slot = (width - 2 * pad) / len(days)
    bar_width = max(slot * 0.8, 1)
    half = axis_y - pad
    bars = []
    for i, (day, up, down, url) in enumerate(days):
        x = round(pad + i * slot, 1)
        if up:
            h = up / max_value * half
            bars.append(MovementBar(x, round(axis_y - h, 1), round(bar_width, 1), round(h, 1), "up", day, up, url))
        if down:
            h = down / max_value * half
            bars.append(MovementBar(x, round(axis_y, 1), round(bar_width, 1), round(h, 1), "down", day, down, url))
    return MovementChart(width, height, axis_y, tuple(bars), max_value)
