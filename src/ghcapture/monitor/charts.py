"""Bar charts as inline SVG, drawn on the server: no script, no library, and they scale with the page."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 600, 160
_LEFT, _BOTTOM, _TOP = 44, 18, 8


def _number(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.1f}k"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    kind: str = "throughput",
    unit: str = "",
    top: float | None = None,
) -> Markup:
    """A bar per value, `top` (else the tallest) scaled to the chart's height; every bar says its label and
    value on hover. `kind` names its colour in the stylesheet."""
    top = max(values, default=0.0) if top is None else top
    scale = (HEIGHT - _BOTTOM - _TOP) / top if top > 0 else 0.0
    width = (WIDTH - _LEFT) / max(len(values), 1)
    parts = [
        f'<svg class="chart chart-{escape(kind)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<line class="axis" x1="{_LEFT}" y1="{HEIGHT - _BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - _BOTTOM}"/>',
        f'<text class="tick" x="{_LEFT - 4}" y="{_TOP + 8}" text-anchor="end">{escape(_number(top))}</text>',
        f'<text class="tick" x="{_LEFT - 4}" y="{HEIGHT - _BOTTOM}" text-anchor="end">0</text>',
    ]
    step = max(len(labels) // 6, 1)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = value * scale
        x = _LEFT + i * width
        tip = f"{escape(label)}: {escape(_number(value))}{escape(unit)}"
        parts.append(
            f'<rect class="bar" x="{x + 1:.1f}" y="{HEIGHT - _BOTTOM - height:.1f}" '
            f'width="{max(width - 2, 1):.1f}" height="{height:.1f}"><title>{tip}</title></rect>'
        )
        if i % step == 0:
            parts.append(
                f'<text class="tick" x="{x + width / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return Markup(f"<figure><figcaption>{escape(title)}</figcaption>{''.join(parts)}</figure>")
