"""A memory budget for one run: estimate what a pass will take before allocating anything, and refuse one over budget
with a sentence that says what to lower.

The estimate counts the activations a CIFAR ResNet (`models.resnet.ResNet`: a stem, three stages of n blocks at
width, 2 width and 4 width channels on resolution, resolution/2 and resolution/4 pixels) keeps for its backward pass:
about ACTS_PER_BLOCK tensors of a block's output size per block, plus the stem's, plus a fixed overhead. Measured
against the peak RSS of real `viz.probe.probe` passes (tests/viz/measures/test_budget.py) it is within a factor 1.5.
A forward pass without gradients keeps only a few tensors of the largest stage alive at once.
"""

import os

ACTS_PER_BLOCK = 6  # tensors of a block's output size saved for backward (convs, BN, activations, the sum)
STEM_ACTS = 4  # the stem's and the head's, in tensors of the first stage's size
LIVE_WITHOUT_GRAD = 4  # tensors of the largest stage alive at once in a forward pass under no_grad
CURVATURE_FACTOR = 2.7  # a Hessian-vector product's double backward over a pass's graph (measured 2.5-2.8 x a pass)
NOISE_COPIES = 4  # viz.measures.attribution's NoiseTunnel: 4 noisy copies of steps/4 points each
OVERHEAD_MB = 32.0  # the pass's own bookkeeping (parameters' gradients, the autograd graph, hooks' numbers)
FLOAT_BYTES = 4
MB = 2**20


class OverBudget(ValueError):
    """A run whose estimated memory is over the budget; str() is one sentence for the visitor."""


def request_budget_mb() -> float:
    """The most one run may take, in MB: env SKIPLAB_REQUEST_MB (default 2048)."""
    return _env_mb("SKIPLAB_REQUEST_MB", 2048.0)


def _env_mb(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


def resnet_pass_mb(depth: int, batch: int, width: int = 16, resolution: int = 32, backward: bool = True) -> float:
    """Estimated peak memory (MB) of one pass of a CIFAR ResNet of `depth` (6n+2) layers over a batch of
    (batch, 3, resolution, resolution) images: forward and backward (`backward=True`, as a probe does) or a forward
    pass under no_grad."""
    n = max(1, (int(depth) - 2) // 6)
    first_stage = int(width) * int(resolution) ** 2  # elements of one image's first-stage tensor
    per_block = first_stage * (1 + 1 / 2 + 1 / 4)  # a block in each stage: channels double, pixels quarter
    if backward:
        elements = n * per_block * ACTS_PER_BLOCK + first_stage * STEM_ACTS
    else:
        elements = first_stage * LIVE_WITHOUT_GRAD
    return OVERHEAD_MB + int(batch) * elements * FLOAT_BYTES / MB


def check(estimate_mb: float, what: str, lower: str, budget_mb: float | None = None):
    """Refuse (raise OverBudget) a run whose `estimate_mb` is over the budget (default: `request_budget_mb()`).

    Args:
        estimate_mb: from `resnet_pass_mb` or the like; what: the run in words ("a pass through ResNet-1202 at batch
        256"); lower: what the visitor can lower, in words ("the batch size to 16 or the depth to 110").
    """
    budget = request_budget_mb() if budget_mb is None else budget_mb
    if estimate_mb > budget:
        raise OverBudget(f"{what} would take about {estimate_mb / 1024:.1f} GB of memory, over the "
                         f"{budget / 1024:.1f} GB one run may use on this server: lower {lower}.")


def largest_batch(depth: int, width: int = 16, resolution: int = 32, budget_mb: float | None = None) -> int:
    """The largest batch whose forward and backward pass fits the budget (0 where not even one image fits)."""
    budget = request_budget_mb() if budget_mb is None else budget_mb
    one = resnet_pass_mb(depth, 1, width, resolution) - OVERHEAD_MB
    return max(0, int((budget - OVERHEAD_MB) // one))


def largest_depth(batch: int, width: int = 16, resolution: int = 32, budget_mb: float | None = None) -> int:
    """The largest depth (6n+2) whose forward and backward pass at `batch` fits the budget (0 where none does)."""
    budget = request_budget_mb() if budget_mb is None else budget_mb
    one_block = resnet_pass_mb(14, batch, width, resolution) - resnet_pass_mb(8, batch, width, resolution)
    n = int((budget - resnet_pass_mb(8, batch, width, resolution)) // one_block) + 1
    return 6 * n + 2 if n >= 1 else 0


def largest(estimate, lo: int, hi: int, budget_mb: float | None = None) -> int:
    """The largest integer v in [lo, hi] whose `estimate(v)` (MB, increasing in v) fits the budget; lo - 1 if none."""
    budget = request_budget_mb() if budget_mb is None else budget_mb
    if estimate(lo) > budget:
        return lo - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if estimate(mid) <= budget else (lo, mid - 1)
    return lo


def check_setting(estimate, value: int, lo: int, what: str, setting: str, budget_mb: float | None = None):
    """Refuse (OverBudget) a run whose `estimate(value)` is over the budget, saying to which value the visitor's
    `setting` (in words: "the number of images") fits, or, where not even `lo` does, to choose a smaller network."""
    budget = request_budget_mb() if budget_mb is None else budget_mb
    if estimate(value) <= budget:
        return
    fits = largest(estimate, lo, value, budget)
    lower = (f"{setting} to {fits}" if fits >= lo
             else f"the network's depth: even {setting} at {lo} is over the budget for this network")
    check(estimate(value), what, lower, budget)


def landscape_mb(depth: int, images: int, width: int = 16, batch: int = 256) -> float:
    """A loss landscape of a ResNet of `depth` over `images` images: forward passes under no_grad over chunks of
    `batch` images for the grid, and the curvature's Hessian-vector products, a double backward over all the
    images at once (viz.measures.curvature), which is the larger."""
    grid = resnet_pass_mb(depth, min(images, batch), width, backward=False)
    return max(grid, CURVATURE_FACTOR * resnet_pass_mb(depth, images, width))


def attribution_mb(depth: int, steps: int, noise: bool, width: int = 16) -> float:
    """Captum's attributions of one image (viz.measures.attribution.attribute_all): Integrated Gradients backpropagates
    all `steps` scaled copies at once, the NoiseTunnel NOISE_COPIES x steps/4."""
    batch = max(steps, NOISE_COPIES * max(4, steps // 4)) if noise else steps
    return resnet_pass_mb(depth, batch, width)


def forward_chunk_mb(depth: int, images: int, width: int = 16) -> float:
    """A forward pass under no_grad over a chunk of `images` (the Residuals page's responses, lesions, switches)."""
    return resnet_pass_mb(depth, images, width, backward=False)
