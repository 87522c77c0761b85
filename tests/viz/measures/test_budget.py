"""The memory estimate of a probe pass against the measured peak of a real one, and the refusal sentence."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from viz.measures import budget

ROOT = Path(__file__).resolve().parents[3]

# A fresh process per pass (a freed allocation stays in the process's RSS, so a second pass would measure nothing):
# a tiny probe first (imports, kernels, the allocator's arenas), then the peak RSS is reset (clear_refs 5) and the
# real probe's peak above the RSS before it is printed in MB.
PEAK = """
import sys, torch
sys.path.insert(0, {root!r})
from models.resnet import ResNet, ResNetConfig
from viz.probe import probe
torch.set_num_threads(1)
def status(key):
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(key))
probe(ResNet(ResNetConfig(depth=8), seed=0), torch.rand(2, 3, 32, 32), torch.randint(0, 10, (2,)), bn_mode="train")
model = ResNet(ResNetConfig(depth={depth}), seed=0)
x, y = torch.rand({batch}, 3, 32, 32), torch.randint(0, 10, ({batch},))
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
probe(model, x, y, bn_mode="train")
print(status("VmHWM") - before)
"""


def measured_peak_mb(depth: int, batch: int) -> float:
    code = PEAK.format(root=str(ROOT), depth=depth, batch=batch)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    return float(out.stdout.split()[-1])


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="reads the peak RSS from /proc (Linux)")
@pytest.mark.parametrize("depth,batch", [(56, 64), (110, 32)])
def test_estimate_is_within_a_factor_of_a_real_pass(depth, batch):
    measured, estimate = measured_peak_mb(depth, batch), budget.resnet_pass_mb(depth, batch)
    assert measured > 50, measured  # the pass did allocate its activations
    assert measured / 2 <= estimate <= measured * 2, (estimate, measured)


def test_estimate_grows_with_every_dimension():
    base = budget.resnet_pass_mb(56, 32)
    for bigger in (budget.resnet_pass_mb(110, 32), budget.resnet_pass_mb(56, 64), budget.resnet_pass_mb(56, 32, width=32),
                   budget.resnet_pass_mb(56, 32, resolution=64)):
        assert bigger > base
    assert budget.resnet_pass_mb(56, 32, backward=False) < base


def test_over_budget_is_refused_with_what_to_lower(monkeypatch):
    monkeypatch.setenv("SKIPLAB_REQUEST_MB", "2048")
    with pytest.raises(budget.OverBudget, match=r"about \d+\.\d GB .* lower the batch"):
        budget.check(budget.resnet_pass_mb(1202, 256), "A pass through ResNet-1202", "the batch")
    budget.check(budget.resnet_pass_mb(56, 32), "A pass through ResNet-56", "the batch")  # the default view fits


def test_largest_settings_fit_and_one_more_does_not():
    for depth in (56, 1202):
        b = budget.largest_batch(depth, budget_mb=2048)
        assert budget.resnet_pass_mb(depth, b) <= 2048 < budget.resnet_pass_mb(depth, b + 1)
    d = budget.largest_depth(32, budget_mb=2048)
    assert (d - 2) % 6 == 0
    assert budget.resnet_pass_mb(d, 32) <= 2048 < budget.resnet_pass_mb(d + 6, 32)


def test_a_bad_environment_value_keeps_the_default(monkeypatch):
    monkeypatch.setenv("SKIPLAB_REQUEST_MB", "lots")
    assert budget.request_budget_mb() == 2048
    monkeypatch.setenv("SKIPLAB_REQUEST_MB", "512")
    assert budget.request_budget_mb() == 512


# The same for the landscape's curvature (Hessian-vector products: a double backward) and Captum's attributions.
RUNS = {
    "curvature": """
from viz.measures.curvature import curvature_at
from viz.measures.landscape import filter_normalized_direction
def run(model, n):
    x, y = torch.rand(n, 3, 32, 32), torch.randint(0, 10, (n,))
    d = [filter_normalized_direction(model.eval(), 0)]
    return lambda: curvature_at(model, x, y, [[0.0]], d, 0, 2)
""",
    "attribution": """
from viz.measures.attribution import integrated_gradients
def run(model, n):
    x = torch.rand(1, 3, 32, 32)
    return lambda: integrated_gradients(model.eval(), x, 3, n, None, None)
""",
}
RUN_PEAK = """
import sys, torch
sys.path.insert(0, {root!r})
from models.resnet import ResNet, ResNetConfig
torch.set_num_threads(1)
{run}
def status(key):
    return next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(key))
run(ResNet(ResNetConfig(depth=8), seed=0), 2)()
go = run(ResNet(ResNetConfig(depth={depth}), seed=0), {n})
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS")
go()
print(status("VmHWM") - before)
"""


@pytest.mark.slow  # 20-30 s each on 2 busy cores
@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="reads the peak RSS from /proc (Linux)")
@pytest.mark.parametrize("kind,depth,n", [("curvature", 20, 128), ("attribution", 56, 128)])
def test_landscape_and_attribution_estimates_are_within_a_factor_of_real_runs(kind, depth, n):
    code = RUN_PEAK.format(root=str(ROOT), run=RUNS[kind], depth=depth, n=n)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    measured = float(out.stdout.split()[-1])
    estimate = budget.landscape_mb(depth, n) if kind == "curvature" else budget.attribution_mb(depth, n, noise=False)
    assert measured > 50, measured
    assert measured / 2 <= estimate <= measured * 2, (estimate, measured)


def test_a_refused_setting_names_the_largest_value_that_fits():
    estimate = lambda n: budget.landscape_mb(56, n)  # noqa: E731
    fits = budget.largest(estimate, 8, 2048, budget_mb=1024)
    assert estimate(fits) <= 1024 < estimate(fits + 1)
    with pytest.raises(budget.OverBudget, match=rf"lower the number of images to {fits}\.$"):
        budget.check_setting(estimate, 2048, 8, "The landscape", "the number of images", budget_mb=1024)
    budget.check_setting(estimate, fits, 8, "The landscape", "the number of images", budget_mb=1024)  # fits: no error
    with pytest.raises(budget.OverBudget, match="even the number of images at 8 is over"):
        budget.check_setting(estimate, 64, 8, "The landscape", "the number of images", budget_mb=40)
    assert budget.attribution_mb(56, 32, noise=True) == budget.attribution_mb(56, 32, noise=False)  # 4 x 8 = 32
    assert budget.attribution_mb(56, 8, noise=True) > budget.attribution_mb(56, 8, noise=False)  # 4 x 4 > 8
