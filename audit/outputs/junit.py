"""JUnit XML for CI gates (``--junit FILE``): one testcase per clip.

A clip that fails the gate gets one ``<failure>`` per failed rule (finding of severity fail,
or warn when the policy counts warnings as failures); a clip that could not be audited gets
one ``<error>`` per runtime failure. Warnings and info go to ``<system-out>``. Written with
``xml.etree`` (escaping is the library's), atomically.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path, PurePath

from .html import write_text_atomic

ORDER = 45


def add_arguments(parser) -> None:
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML here (one testcase per clip)")


def write(run: dict, args, out_dir: Path) -> list[Path]:
    target = getattr(args, "junit", None)
    if not target:
        return []
    return [write_text_atomic(Path(target), to_xml(run))]


def _classname(path: str) -> str:
    parent = str(PurePath(path).parent)
    return "sora-audit" + ("" if parent in (".", "") else "." + parent.replace("/", ".").replace("\\", ".").strip("."))


def _line(f: dict) -> str:
    return f"[{f.get('severity')}] {f.get('code')}: {f.get('message')}"


def testcase(c: dict) -> tuple[ET.Element, int, int]:
    """The testcase of one clip, with its failure and error counts."""
    path = c.get("path") or (c.get("source") or {}).get("case_id") or "clip"
    tc = ET.Element("testcase", name=path, classname=_classname(path),
                    time=f"{float((c.get('timings') or {}).get('total_s') or 0.0):.3f}")
    findings = c.get("findings") or []
    verdict = c.get("verdict")
    failures = errors = 0
    if verdict == "error":
        for f in findings:
            if f.get("category") == "runtime" and f.get("severity") == "fail":
                ET.SubElement(tc, "error", message=str(f.get("message") or ""), type=str(f.get("code") or "")).text = _line(f)
                errors += 1
    if verdict == "fail":
        failed = [f for f in findings if f.get("severity") == "fail" and f.get("category") != "runtime"]
        # With [gate] warn_as = "fail" the warnings are what failed the clip.
        for f in failed or [f for f in findings if f.get("severity") == "warn"]:
            ET.SubElement(tc, "failure", message=str(f.get("message") or ""), type=str(f.get("code") or "")).text = _line(f)
            failures += 1
    rest = [f for f in findings if not (f.get("severity") == "fail" and verdict in ("fail", "error"))]
    if rest:
        ET.SubElement(tc, "system-out").text = "\n".join(_line(f) for f in rest)
    if failures == errors == 0 and verdict in ("fail", "error"):  # never let a failed clip read as passed
        ET.SubElement(tc, "failure" if verdict == "fail" else "error", message=f"verdict {verdict}", type=f"verdict.{verdict}")
        failures += verdict == "fail"
        errors += verdict == "error"
    return tc, failures, errors


def to_xml(run: dict) -> str:
    suite = ET.Element("testsuite", name="sora-audit", timestamp=str(run.get("started_at") or ""))
    props = ET.SubElement(suite, "properties")
    for k, v in (("run_id", run.get("run_id")), ("version", run.get("version")),
                 ("policy", (run.get("policy") or {}).get("source")),
                 ("policy_sha256", (run.get("policy") or {}).get("sha256")), ("exit_code", run.get("exit_code"))):
        ET.SubElement(props, "property", name=k, value=str(v))
    tests = failures = errors = 0
    total = 0.0
    for c in run.get("clips") or []:
        tc, f, e = testcase(c)
        suite.append(tc)
        tests += 1
        failures += f and 1   # JUnit counts failing testcases, not failure elements
        errors += e and 1
        total += float(tc.get("time"))
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    suite.set("time", f"{total:.3f}")
    root = ET.Element("testsuites", name="sora-audit", tests=str(tests), failures=str(failures), errors=str(errors))
    root.append(suite)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    # XML 1.0 has no way to write most control characters (a file name may hold ESC): shown as
    # \x1b, the CI parser reads a well-formed file. ElementTree escapes the rest.
    text = _NOT_XML.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
