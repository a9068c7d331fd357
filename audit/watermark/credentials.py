"""The visible mark against the Content Credentials: two signals of one origin that should agree.

Sora signs its clips (C2PA manifest, claim generator "Sora", issuer OpenAI) and draws its mark
on them. When one signal is there and the other is not, something happened to the clip:

- a Sora manifest but no Sora mark found: ``watermark.expected_missing`` (warn). The mark may
  have been removed or cropped away; or this output never carried it (whether every Sora
  output does is not established), so it is a warning the policy can raise or drop
  (``[severity] "watermark.expected_missing"``), not a failure;
- the Sora mark but no manifest: ``provenance.stripped_suspected`` (warn). A re-encode or a
  platform upload drops the manifest and keeps the pixels.

Runs after every detector (a cross-check, ``CROSS_CHECKS``), on the ``provenance`` and
``watermark`` blocks; silent when either check did not run, or the Sora mark was not searched.
"""

from __future__ import annotations

from ..findings import PROVENANCE, WARN, WATERMARK, Finding

SORA_GENERATOR = "sora"
SORA_ISSUER = "openai"
MANIFEST_READ = ("trusted", "valid", "invalid")   # a manifest was there (intact or not)


def sora_manifest(prov: dict) -> bool:
    """Whether the manifest says Sora made the clip: claim generator (info name, or the
    claim_generator string's first product) "Sora" and signed by OpenAI."""
    if prov.get("status") not in MANIFEST_READ:
        return False
    names = [str((g or {}).get("name", "")).strip().lower() for g in prov.get("claim_generator_info") or []
             if isinstance(g, dict)]
    if prov.get("claim_generator"):
        # a claim_generator string is "Name/version other/version"
        names.append(str(prov["claim_generator"]).split()[0].split("/")[0].lower())
    return SORA_GENERATOR in names and str(prov.get("issuer") or "").strip().lower() == SORA_ISSUER


def signals(prov: dict | None, wm: dict | None, sora_searched: bool) -> dict:
    """Both signals in a few words each, for the findings and the report's provenance panel."""
    manifest = None if not prov else ("Sora (OpenAI)" if sora_manifest(prov) else prov.get("status"))
    if not wm or wm.get("present") is None:
        mark = None
    elif wm.get("present"):
        mark = wm.get("mark") or "a mark"
    else:
        mark = "none" if sora_searched else "none (Sora mark not searched)"
    return {"manifest": manifest, "mark": mark}


def cross_check(ctx, blocks, metrics) -> list[Finding]:
    prov, wm = blocks.get("provenance"), blocks.get("watermark")
    if not prov or not wm or wm.get("present") is None:
        return []
    searched = "sora" in (wm.get("known") or [])
    if not searched:
        return []
    where = str(ctx.path)
    ev = {"manifest_status": prov.get("status"), "claim_generator": prov.get("claim_generator"),
          "issuer": prov.get("issuer"), "mark": wm.get("mark"), "coverage": wm.get("coverage")}
    found_sora = bool(wm.get("present")) and wm.get("mark") == "sora"
    if sora_manifest(prov) and not found_sora:
        return [Finding(WATERMARK, WARN, "watermark.expected_missing",
                        f"{where}: the Content Credentials say Sora made this clip (signed by OpenAI) but the "
                        "Sora mark was not found: removed, blurred or cropped away?", ev)]
    if found_sora and prov.get("status") == "absent":
        return [Finding(PROVENANCE, WARN, "provenance.stripped_suspected",
                        f"{where}: the Sora mark is on the picture (coverage {wm.get('coverage')}) but the file "
                        "has no Content Credentials: probably stripped by a re-encode or an upload. Audit the "
                        "original download.", ev)]
    return []


CROSS_CHECKS = [cross_check]
