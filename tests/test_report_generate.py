"""The report of a generation run (``sora-audit run`` against the local emulator): refusals land
in "Policy errors" with the provider's code and what to change, broken jobs in "Runtime errors"
with retries and whether --resume continues; JUnit gets a failure and an error."""

import re
import xml.etree.ElementTree as ET

import pytest

from audit.sora.emulator import Emulator, EmulatorSettings
from conftest import ROOT

KEY = "sk-test-REPORTkey0123456789abcdef"
REF = ROOT / "fixtures" / "references" / "clean_pan.jpg"


@pytest.fixture
def emu():
    e = Emulator(EmulatorSettings(job_seconds=0.3, poll_after_ms=50, retry_after=0.2, api_key=KEY))
    e.start()
    yield e
    e.stop()


def _section(page: str, sid: str, next_sid: str) -> str:
    return page[page.index(f'id="{sid}"'):page.index(f'id="{next_sid}"')]


@pytest.mark.slow
def test_generation_run_report_separates_refusals_from_failures(tmp_path, emu, monkeypatch, capsys):
    from audit.cli import main

    prov = tmp_path / "providers.toml"
    prov.write_text(f'[providers.local]\nbase_url = "{emu.base_url}"\napi_key_env = "LOCAL_SORA_KEY"\n'
                    'models = ["sora-2"]\n')
    suite = tmp_path / "suite.toml"
    suite.write_text('[suite]\nprovider = "local"\nmodels = ["sora-2"]\nseconds = 1\nsize = "160x96"\n\n'
                     f'[[case]]\nid = "ok"\nprompt = "The camera pans left over the shapes"\nreference = "{REF}"\n\n'
                     '[[case]]\nid = "refused"\nprompt = "[refuse] <script>window.__pwned=1</script>"\n\n'
                     '[[case]]\nid = "internal"\nprompt = "[fail-internal] x"\n')
    monkeypatch.setenv("LOCAL_SORA_KEY", KEY)
    rep, junit = tmp_path / "rep", tmp_path / "junit.xml"
    code = main(["run", str(suite), "--providers", str(prov), "--out", str(tmp_path / "out"), "--report", str(rep),
                 "--jobs", "0", "--poll-interval", "0.05", "--db", str(tmp_path / "h.sqlite"), "--junit", str(junit),
                 "-q"])
    capsys.readouterr()
    assert code == 1
    page = (rep / "index.html").read_text()
    pol = _section(page, "policy-errors", "runtime-errors")
    rt = _section(page, "runtime-errors", "clips")
    # a refused job is named by its case, model and repeat (it has no clip file)
    assert ">refused · sora-2 · r1</a></td>" in pol and "moderation_blocked" in pol and "<td>sora-2</td>" in pol
    assert "no clip (refused)" in page and "refused/sora-2-r1.mp4" not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in pol and page.count("<script") == 1
    assert ">internal<" not in pol and "runtime.job_failed" in rt and ">refused<" not in rt
    row = re.search(r"runtime\.job_failed.*?</tr>", rt, re.S).group(0)
    assert re.search(r'<td class="num">\d+</td>', row) and "<td>yes</td>" in row  # retries, --resume continues
    assert KEY not in page and KEY[:12] not in page
    gen = page[page.index("<h4>generation</h4>"):page.index('id="policy-errors"')]
    assert "provider" in gen and "local" in gen and emu.base_url in gen  # the run's journal and provider
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    kinds = {n: [e.tag for e in c if e.tag in ("failure", "error")] for n, c in cases.items()}
    assert sorted(map(tuple, kinds.values())) == [(), ("error",), ("failure",)]
    assert KEY not in junit.read_text()
