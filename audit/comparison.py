"""Compare two stored runs: per model x metric, matched clips, bootstrap intervals, regressions.

Clips are matched by (model, case id, repeat); a clip without a case id is matched by its file
name, and clips sharing a key without a repeat number are paired in stored order. For each
model and metric, over the matched clips that have the metric in both runs:

    delta  = median of the per-clip differences (candidate - baseline), in the metric's units
    ci     = percentile bootstrap interval of that median, resampling matched clips (seeded)

A regression is a delta in the metric's bad direction larger than its tolerance whose interval
excludes zero (``[history]`` in the policy: ``audit/defaults/history.toml``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from .history import rates
from .policy import Policy

REGRESSION = "regression"
IMPROVEMENT = "improvement"
WITHIN = "within tolerance"    # changed less than the tolerance, or the interval includes zero
UNGATED = "not gated"          # metric with no direction in the policy
TOO_FEW = "too few pairs"


@dataclass(frozen=True)
class Rule:
    worse: str          # "higher" | "lower"
    tolerance: float    # absolute, in the metric's units


def rules(policy: Policy) -> dict[str, Rule]:
    sec = policy.section("history")
    out = {k: Rule("higher", float(v)) for k, v in sec.get("higher_is_worse", {}).items()}
    out.update({k: Rule("lower", float(v)) for k, v in sec.get("lower_is_worse", {}).items()})
    return out


@dataclass
class Row:
    model: str
    metric: str
    n: int
    baseline_median: float
    candidate_median: float
    delta: float
    ci: tuple[float, float]
    worse: str | None
    tolerance: float | None
    status: str


@dataclass
class Comparison:
    baseline: dict[str, Any]
    candidate: dict[str, Any]
    confidence: float
    bootstrap_samples: int
    rows: list[Row] = field(default_factory=list)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)   # per model: pairs, rates
    unmatched: dict[str, list[str]] = field(default_factory=dict)     # baseline / candidate keys

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.status == REGRESSION]

    def to_dict(self) -> dict[str, Any]:
        keep = ("id", "label", "stored_at", "started_at", "suite", "tool_version", "policy_digest", "n_clips")
        return {
            "baseline": {k: self.baseline.get(k) for k in keep},
            "candidate": {k: self.candidate.get(k) for k in keep},
            "method": {"delta": "median of matched per-clip differences (candidate - baseline)",
                       "ci": "percentile bootstrap over matched clips", "confidence": self.confidence,
                       "bootstrap_samples": self.bootstrap_samples},
            "regression": bool(self.regressions),
            "regressions": [f"{r.model} {r.metric}" for r in self.regressions],
            "models": self.models,
            "rows": [dict(asdict(r), ci=list(r.ci)) for r in self.rows],
            "unmatched": self.unmatched,
        }


def _key(c: Mapping[str, Any]) -> tuple[str, str, int | None]:
    case = c.get("case_id") or os.path.basename(str(c.get("path", "")))
    return (c.get("model") or "(unknown)", str(case), c.get("repeat"))


def match(base: Sequence[Mapping], cand: Sequence[Mapping]) -> tuple[list[tuple[Mapping, Mapping]], dict]:
    """Pairs (baseline clip, candidate clip) sharing (model, case, repeat), and what is left."""
    def index(clips):
        by: dict[tuple, list] = defaultdict(list)
        for c in clips:
            by[_key(c)].append(c)
        return by

    a, b = index(base), index(cand)
    pairs = []
    for k in a.keys() & b.keys():
        pairs.extend(zip(a[k], b[k]))   # same key, no repeat number: pair in stored order
    pairs.sort(key=lambda p: _key(p[0])[:2] + (str(_key(p[0])[2]),))

    def left(x, y):
        return sorted(f"{k[0]}/{k[1]}" + (f"#{k[2]}" if k[2] is not None else "")
                      for k in x if k not in y or len(x[k]) > len(y[k]))

    return pairs, {"baseline": left(a, b), "candidate": left(b, a)}


def pair_models(base: Sequence[Mapping], cand: Sequence[Mapping], model_a: str, model_b: str) -> tuple[list, list]:
    """Clips of ``model_a`` (baseline side) and ``model_b`` (candidate side), both relabelled
    ``"A -> B"`` so that they match by case id and repeat: sora-2 against sora-2-pro."""
    label = f"{model_a} -> {model_b}"
    a = [dict(c, model=label) for c in base if c.get("model") == model_a]
    b = [dict(c, model=label) for c in cand if c.get("model") == model_b]
    return a, b


def bootstrap_median_ci(d: np.ndarray, samples: int, confidence: float, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap interval of ``median(d)``, resampling its elements."""
    if len(d) == 1:
        return float(d[0]), float(d[0])
    idx = rng.integers(0, len(d), size=(samples, len(d)))
    meds = np.median(d[idx], axis=1)
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(meds, [alpha, 1 - alpha])
    return float(lo), float(hi)


def _status(delta: float, ci: tuple[float, float], rule: Rule | None, n: int, min_pairs: int) -> str:
    if rule is None:
        return UNGATED
    if n < min_pairs:
        return TOO_FEW
    sign = 1.0 if rule.worse == "higher" else -1.0
    bad, (lo, hi) = sign * delta, (sign * ci[0], sign * ci[1])
    lo, hi = min(lo, hi), max(lo, hi)
    if bad > rule.tolerance and lo > 0:
        return REGRESSION
    if -bad > rule.tolerance and hi < 0:
        return IMPROVEMENT
    return WITHIN


def compare(baseline: dict, base_clips: Sequence[Mapping], candidate: dict, cand_clips: Sequence[Mapping],
            policy: Policy, metrics: Sequence[str] | None = None) -> Comparison:
    sec = policy.section("history")
    samples, conf = int(sec["bootstrap_samples"]), float(sec["confidence"])
    min_pairs = int(sec["min_pairs"])
    rule_of = rules(policy)
    rng = np.random.default_rng(int(sec["seed"]))
    pairs, unmatched = match(base_clips, cand_clips)
    out = Comparison(baseline, candidate, conf, samples, unmatched=unmatched)
    by_model: dict[str, list] = defaultdict(list)
    for p in pairs:
        by_model[_key(p[0])[0]].append(p)
    for model in sorted(by_model):
        ps = by_model[model]
        out.models[model] = {
            "pairs": len(ps),
            "baseline": rates(a for a, _ in ps),
            "candidate": rates(b for _, b in ps),
        }
        names = sorted({k for a, b in ps for k in a["metrics"].keys() & b["metrics"].keys()})
        if metrics:
            names = [n for n in names if n in metrics]
        for name in names:
            va = np.array([a["metrics"][name] for a, b in ps if name in a["metrics"] and name in b["metrics"]])
            vb = np.array([b["metrics"][name] for a, b in ps if name in a["metrics"] and name in b["metrics"]])
            d = vb - va
            delta = float(np.median(d))
            ci = bootstrap_median_ci(d, samples, conf, rng)
            rule = rule_of.get(name)
            out.rows.append(Row(
                model, name, len(d), float(np.median(va)), float(np.median(vb)), delta, ci,
                rule.worse if rule else None, rule.tolerance if rule else None,
                _status(delta, ci, rule, len(d), min_pairs),
            ))
    # gated metrics first, then by name
    out.rows.sort(key=lambda r: (r.model, r.worse is None, r.metric))
    return out
