"""Run examples/softmax_properties.py and examples/init_magic_numbers.py as scripts and
check what they print."""

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(script: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr
    return proc.stdout


def test_softmax_properties_example():
    out = run("softmax_properties.py")
    checks = [ln for ln in out.splitlines() if ln.startswith(("ok ", "FAIL"))]
    assert len(checks) >= 12
    assert not [ln for ln in checks if ln.startswith("FAIL")], out
    for expected in ("softmax rows sum to 1", "softmax(x + c) = softmax(x) for c = 10000",
                     "max(x) <= logsumexp(x) <= max(x) + log n",
                     "T -> 0 gives the one-hot argmax", "T -> inf gives the uniform",
                     "softmax(2 x) != softmax(x)", "two logits of 1e8 (float32) is log 2"):
        assert expected in out
    lam = re.findall(r"lambda =\s+(\d+): ([\d.-]+)", out)
    assert [int(n) for n, _ in lam] == [1, 10, 100, 1000]
    values = [float(v) for _, v in lam]
    assert values == sorted(values, reverse=True)  # decreasing towards the max
    assert "naive exp(x) / sum exp(x) for x = [1e4, 0, -1e4]: [nan" in out


def _estimates(out):
    found = {}
    for case, stat, value, se, theory in re.findall(
            r"(scalar|matrix) (mean_sq|mean)\s+=\s+([\d.]+) \+- ([\d.]+)\s+\(theory ([\d.]+)\)",
            out):
        found[case, stat] = float(value), float(se), float(theory)
    return found


def test_init_magic_numbers_example():
    out = run("init_magic_numbers.py")
    est = _estimates(out)
    theory = {("scalar", "mean"): 1 / math.pi, ("scalar", "mean_sq"): 0.5,
              ("matrix", "mean"): math.sqrt(512 / (2 * math.pi)), ("matrix", "mean_sq"): 256}
    assert set(est) == set(theory)
    for key, (value, se, printed) in est.items():
        assert printed == pytest.approx(theory[key], abs=1e-4)
        assert abs(value - theory[key]) < 5 * se + 1e-4, (key, value, se)

    def final(label):
        m = re.search(rf"{re.escape(label)}\s+layer 1: .*\n\s+final mean square (\S+),", out)
        assert m, (label, out)
        return float(m.group(1).rstrip(","))

    assert not math.isfinite(final("randn"))           # overflow to inf, then nan
    assert final("randn * 0.01") < 1e-30                 # vanishes
    assert 0.25 < final("kaiming sqrt(2/fan_in)") < 4  # stays near the input's 1
    std = float(re.search(r"kaiming_normal_ \(512, 512\): std ([\d.]+)", out).group(1))
    assert abs(std / math.sqrt(2 / 512) - 1) < 0.02
    bound = float(re.search(r"\|weight\| <= ([\d.]+)", out).group(1))
    assert 0.095 < bound <= 0.1
