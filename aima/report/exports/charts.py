"""The report page's two charts as SVG geometry: the timeline and the coverage bars.

:func:`timeline` lays the timeline's events out on one case axis, one lane per media item (a
bar for a time range, a thin mark for a moment, each with a tooltip), with axis ticks and a
legend, and gives the rows of the timeline table. :func:`coverage` draws, per video and stage,
what the stage looked at (seen spans) over the file's length. Coordinates are SVG user units in a
:data:`CHART_WIDTH`-wide view box that the page scales to its width; the template only loops
over them. Both are linear in the number of events and spans.
"""

from __future__ import annotations

from typing import Any

from aima.report.exports.common import cites, clock, media_order

#: Chart geometry, in SVG user units (the SVG scales to the page width).
CHART_WIDTH, LABEL_WIDTH, LANE_HEIGHT, AXIS_HEIGHT = 1000, 170, 22, 26
KIND_COLOURS = {"keyframe": "#8a8f98", "speech": "#2f6fb3", "face": "#d08a1f", "text": "#6a4fb3",
                "restraint": "#c0392b", "vision": "#2e8b57"}


def timeline(report: dict[str, Any], names: dict[str, str],
              labels: dict[str, str]) -> dict[str, Any]:
    """``rows`` (the table), ``chart`` (None for an empty timeline), the axis ``order`` and the
    ``basis`` per file; ``names`` maps media ids to file names, ``labels`` speaker keys to
    person labels."""
    events = report.get("timeline") or []
    basis = report.get("timeline_basis") or {}
    rows = [{**e, "name": e.get("name") or names.get(e.get("media_id"), e.get("media_id")),
             "who": labels.get(e.get("speaker"), e.get("speaker")) or e.get("person"),
             "when": clock(e.get("at")), "start": clock(e.get("start_s")),
             "end": clock(e.get("end_s")), "evidence": cites(e.get("evidence"))}
            for e in events]
    chart = None
    timed = [e for e in events if e.get("at") is not None]
    if timed:
        present = {e.get("media_id") for e in timed}
        lanes = {media_id: n for n, media_id in
                 enumerate(m for m in media_order(report) if m in present)}
        for event in timed:  # media only the timeline knows
            lanes.setdefault(event.get("media_id"), len(lanes))
        start = min(e["at"] for e in timed)
        end = max(e["at"] + _length(e) for e in timed)
        span = (end - start) or 1.0
        plot = CHART_WIDTH - LABEL_WIDTH - 10
        marks = []
        for event in timed:
            x = LABEL_WIDTH + (event["at"] - start) / span * plot
            marks.append({
                "x": round(x, 2), "y": AXIS_HEIGHT + lanes[event.get("media_id")] * LANE_HEIGHT + 4,
                "w": round(max(2.0, _length(event) / span * plot), 2), "h": LANE_HEIGHT - 8,
                "colour": KIND_COLOURS.get(event.get("kind"), "#555"),
                "title": f"{clock(event['at'])} {event.get('kind')}: "
                         f"{(event.get('description') or '')[:160]}",
            })
        ticks = [{"x": round(LABEL_WIDTH + n / 5 * plot, 2),
                  "label": clock(start + n / 5 * span),
                  "anchor": "end" if n == 5 else "middle"} for n in range(6)]
        chart = {
            "width": CHART_WIDTH, "height": AXIS_HEIGHT + len(lanes) * LANE_HEIGHT + 4,
            "lanes": [{"label": (names.get(m, m) or "")[:28],
                       "y": AXIS_HEIGHT + n * LANE_HEIGHT + LANE_HEIGHT / 2 + 4}
                      for m, n in lanes.items()],
            "marks": marks, "ticks": ticks, "axis_y": AXIS_HEIGHT - 6,
            "legend": [(kind, colour) for kind, colour in KIND_COLOURS.items()
                       if any(e.get("kind") == kind for e in timed)],
        }
    return {"rows": rows, "chart": chart, "order": basis.get("order"),
            "basis": [{**m, "name": m.get("name") or names.get(m.get("media_id"))}
                      for m in basis.get("media") or []]}


def _length(event: dict[str, Any]) -> float:
    if event.get("end_s") is None or event.get("start_s") is None:
        return 0.0
    return max(0.0, event["end_s"] - event["start_s"])


def coverage(report: dict[str, Any]) -> dict[str, Any]:
    """Per file with a duration, per stage: seen bars, the share seen and the unseen spans; the
    longest unseen span per file and over the case."""
    section = report.get("coverage") or {}
    width = CHART_WIDTH - LABEL_WIDTH - 10
    media = []
    for item in section.get("media") or []:
        duration = item.get("duration_s") or 0
        stages = []
        for stage, entry in (item.get("stages") or {}).items():
            seen = entry.get("seen") or []
            bars = [{"x": round(LABEL_WIDTH + s / duration * width, 2),
                     "w": round(max(1.0, (e - s) / duration * width), 2)}
                    for s, e in seen if e is not None and s is not None] if duration else []
            share = (entry.get("seen_s") or 0) / duration if duration else None
            stages.append({"stage": stage, "status": entry.get("status"), "bars": bars,
                           "seen_s": entry.get("seen_s"),
                           "share": None if share is None else round(100 * share),
                           "unseen": [(clock(s), clock(e))
                                      for s, e in entry.get("unseen") or []]})
        longest = item.get("longest_unseen") or None
        media.append({"name": item.get("name") or item.get("media_id"),
                      "duration": clock(duration) if duration else None,
                      "stages": stages, "longest": longest and {
                          **longest, "start": clock(longest.get("start_s")),
                          "end": clock(longest.get("end_s"))},
                      "height": len(stages) * LANE_HEIGHT + 4, "width": CHART_WIDTH,
                      "plot_x": LABEL_WIDTH, "plot_w": width})
    return {"media": media, "longest_unseen_s": section.get("longest_unseen_s")}
