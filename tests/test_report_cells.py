"""The report's one value renderer (nested values as small tables, never raw JSON) and its chart
geometry: round ticks, axes that stay at 0 for quantities that cannot be negative, threshold labels
that never overlap."""

import math

from audit.outputs import html
from audit.outputs._cells import cell, kv_rows, show
from audit.outputs._charts import line_chart, nice_axis, nice_ticks, spread


def test_nested_dict_is_a_key_value_table_and_list_of_dicts_a_table():
    assert cell({"configured": False, "sources": []}) == {
        "kind": "kv", "rows": [("configured", "no"), ("sources", "none")]}
    t = cell([{"name": "sora-audit-test", "version": "0.1"}, {"name": "c2pa-rs", "extra": 3}])
    assert t["kind"] == "table" and t["cols"] == ["name", "version", "extra"]
    assert t["rows"] == [["sora-audit-test", "0.1", ""], ["c2pa-rs", "", "3"]]
    assert cell([0.5, 1.25, None]) == "0.5, 1.25, —"
    assert cell([[0.2, 0.6], [1.0, 1.5]]) == "(0.2, 0.6); (1, 1.5)"
    assert cell(list(range(25))).endswith("… and 15 more")
    deep = cell({"a": {"b": {"c": {"d": 1}}}})               # flattened below the depth limit
    assert deep["rows"][0][1]["rows"][0][1]["rows"][0][1] == "d: 1"
    assert "{" not in show({"x": [1, {"y": 2}]}) and "[" not in show([1, 2])


def test_empty_values_gather_in_one_row():
    rows = kv_rows([("issuer", None), ("title", "a.mp4"), ("codes", []), ("trust", {})])
    assert rows == [("title", "a.mp4"), ("none", "issuer, codes, trust")]


def test_rendered_cells_hold_tables_not_json():
    run = {"run_id": "r", "exit_code": 0, "policy": {"source": "defaults"},
           "generation": {"jobs": {"downloaded": 2, "refused": 1}, "emulator": {"creates": 9}},
           "clips": [{"path": "a.mp4", "verdict": "pass", "media": None, "watermark": None, "metrics": {},
                      "findings": [{"category": "quality", "severity": "warn", "code": "quality.x", "message": "m",
                                    "evidence": {"ranges": [[1.0, 2.0]], "detail": {"k": "<b>v</b>"}}}],
                      "provenance": {"status": "valid", "claim_generator_info": [{"name": "Sora", "version": "2"}],
                                     "hard_binding": {"label": "c2pa.hash.bmff.v3", "merkle": False},
                                     "trust": {"configured": False, "sources": []}}}]}
    page = html.render(run)
    cells = page[page.index('id="summary"'):]
    for raw in ('{"', '[{', '"configured"', '": '):
        assert raw not in cells, raw
    assert '<th>downloaded</th><td>2</td>' in page and '<th>claim_generator_info</th><td><table class="sub">' in page
    assert "<td>Sora</td><td>2</td>" in page and "&lt;b&gt;v&lt;/b&gt;" in page


def test_nice_ticks_are_1_2_5_steps_and_round():
    assert nice_ticks(0, 2.0, 6) == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert nice_ticks(0, 0.7, 4) == [0.0, 0.2, 0.4, 0.6]
    assert nice_ticks(0, 12.0, 6) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    # the trend chart's values that gave "2.571, 1.911, 1.251, 0.5908, -0.06919"
    lo, hi, ticks = nice_axis(0.0508, 2.451, 5, nonnegative=True)
    assert (lo, hi) == (0.0, 2.5) and ticks == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    lo, hi, ticks = nice_axis(-0.3, 2.2, 5)
    assert lo == -0.5 and ticks[0] == -0.5 and 0.0 in ticks
    lo, hi, ticks = nice_axis(0.1, 0.1, 4, nonnegative=True)   # one value: a range around it, not below 0
    assert lo >= 0 and lo < 0.1 < hi
    for a, b in ((0, 0.037), (0.001, 83.0), (-4.2, 7.9)):
        for t in nice_axis(a, b, 5)[2]:
            mant = abs(t) / 10 ** math.floor(math.log10(abs(t))) if t else 0
            assert round(mant, 6) in (0, 1, 1.5, 2, 2.5, 3, 4, 4.5, 5, 6, 7, 7.5, 8, 9) and len(repr(t)) <= 8, t


def test_trend_chart_ticks_are_round_and_not_below_zero():
    from audit.history_html import svg_chart

    c = svg_chart("flicker.score", ["release-1", "release-2"], {"synthetic": [0.0508, 2.451]})
    labels = [t["label"] for t in c["yticks"]]
    assert labels == ["0", "0.5", "1", "1.5", "2", "2.5"]
    many = svg_chart("x", [f"release-{i:02d}-candidate" for i in range(30)], {"m": list(range(30))})
    assert len(many["xticks"]) < 30 and many["xticks"][-1]["label"].startswith("release-29")


def test_threshold_labels_are_pushed_apart():
    # flicker curve up to 12 with warn 1 and fail 2: the lines are 8 px apart, the labels 10 px tall
    ch = line_chart({"t": [0, 1, 2], "v": [0.5, 12.0, 8.0]}, 2.0, {"warn": 1.0, "fail": 2.0})
    (w, f) = sorted(ch["thresholds"], key=lambda th: th["name"], reverse=True)
    assert abs(w["y"] - f["y"]) < 10                       # the lines themselves are close
    assert abs(w["ly"] - f["ly"]) >= 11                    # their labels are not
    assert all(ch["y0"] + 9 <= th["ly"] <= ch["y1"] - 2 for th in ch["thresholds"])
    assert spread([50, 51, 52], 11, 10, 120) == [50, 61, 72]
    assert spread([118, 119], 11, 10, 120) == [109, 120]   # pushed back up from the bottom
    assert spread([30, 5], 11, 10, 120) == [30, 10]        # input order kept, clamped inside
