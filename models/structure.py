"""Map a CIFAR ResNet's tensors onto skiplab's `models.resnet.ResNet` by their structure, not their names.

The tensors are grouped into modules (a key's prefix): convolutions (a 4-D `weight`, maybe a `bias`), batch norms
(`running_mean`, `running_var`, maybe `weight`, `bias`), the linear head (a 2-D `weight`), and the input statistics
skiplab's own files carry (`mean`, `std`). Each convolution is paired with the norm of the same rank under the same
parent module (`layer1.0.conv1` with `layer1.0.bn1`, `conv_bn_relu1.0` with `conv_bn_relu1.1`). Then shapes say
the rest: the stem is the 3x3 convolution on the image's channels, the 1x1 convolutions are option-B projection
shortcuts, the other 3x3 convolutions are the blocks' branches, two a block, in module order; their channels give the
width and the stages (width, 2 width, 4 width), hence n and the depth 6n+2; the head gives the classes.

What shapes cannot tell (residual or plain, option A's padding and downsampling, the input normalisation) is measured
by `models.imports`. A convolution's bias followed by batch norm is folded into the norm exactly:
BN(Wx + b) uses (Wx + b - running_mean), which is (Wx - (running_mean - b)).
"""

from dataclasses import dataclass

import torch

from models.resnet import MAX_DEPTH

BN_FIELDS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
IMAGENET = (
    "This is an ImageNet ResNet (4 stages, a 7x7 first conv or 1000 classes); skiplab imports "
    "CIFAR ResNets: a 3x3 first conv, 3 stages of n blocks (depth 6n+2) and 32x32 inputs."
)


@dataclass
class Layer:
    """A convolution of the source and its batch norm (None without norms). weight: (out, in, k, k)."""

    conv: str
    norm: str | None
    weight: torch.Tensor

    @property
    def cout(self):
        return int(self.weight.shape[0])

    @property
    def cin(self):
        return int(self.weight.shape[1])

    @property
    def k(self):
        return int(self.weight.shape[-1])


@dataclass
class Structure:
    """What the tensors say. mapping: rows (source module, skiplab module, note); state: a state dict for
    `models.resnet.ResNet` without its `mean` / `std` (which come with the reading); mean/std: the file's own
    input statistics (skiplab's files), else None."""

    depth: int
    width: int
    in_channels: int
    num_classes: int
    shortcut: str  # "A": no projection stored (option A, or a plain net); "B": 1x1 projections
    norm: str  # "batch" | "none"
    mean: tuple | None
    std: tuple | None
    mapping: list
    state: dict
    layout: str  # one line: which source modules play stem, blocks and head


def read_structure(state: dict) -> Structure:
    """state: {key: tensor} in module order (as from `models.checkpoints.read_state_dict`) -> its Structure.

    Raises ValueError with one sentence when the tensors are not a CIFAR ResNet of basic blocks skiplab builds."""
    if any(k.startswith("layer4.") or ".layer4." in k for k in state) or any(
        (v.ndim == 4 and v.shape[-1] == 7) or (v.ndim == 2 and v.shape[0] == 1000) for v in state.values()
    ):
        raise ValueError(IMAGENET)
    modules = _modules(state)
    convs, norms, heads, stats = _classify(modules)
    layers = _pair(convs, norms, modules)
    stem = next((ly for ly in layers if ly.k == 3 and ly.cin in (1, 3)), None)
    if stem is None:
        raise ValueError("The file has no 3x3 first convolution on 1 or 3 image channels: it is not a CIFAR ResNet.")
    branch = [ly for ly in layers if ly is not stem and ly.k != 1]
    odd = next((ly for ly in branch if ly.k != 3), None)
    if odd is not None:
        raise ValueError(
            f"{odd.conv} is a {odd.k}x{odd.k} convolution: skiplab imports CIFAR ResNets of basic blocks "
            "(two 3x3 convolutions each), not bottleneck or other blocks."
        )
    if len(branch) % 2:
        raise ValueError(
            f"The file has {len(branch)} 3x3 convolutions after the first: a CIFAR ResNet's blocks have two each."
        )
    blocks = _in_order([branch[i : i + 2] for i in range(0, len(branch), 2)])
    n, w = _stages(stem, blocks)
    proj = _projections([ly for ly in layers if ly.k == 1], n, w)
    head = _head(heads, modules, 4 * w)
    out, rows = {}, []
    _put(stem, "conv", "bn", modules, out, rows)
    for i, (a, b) in enumerate(blocks):
        _put(a, f"blocks.{i}.branch.conv1", f"blocks.{i}.branch.bn1", modules, out, rows)
        _put(b, f"blocks.{i}.branch.conv2", f"blocks.{i}.branch.bn2", modules, out, rows)
        if i in proj:
            _put(proj[i], f"blocks.{i}.shortcut.conv", f"blocks.{i}.shortcut.bn", modules, out, rows)
    out["fc.weight"] = modules[head]["weight"]
    out["fc.bias"] = modules[head].get("bias", torch.zeros(modules[head]["weight"].shape[0]))
    rows.append((head, "fc", ""))
    mean, std = (_stat(modules[""].get(k), stem.cin) for k in ("mean", "std")) if stats else (None, None)
    rows += [(k, k, "the file's input statistics") for k in stats]
    for k, v in out.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise ValueError(f"The tensor for {k} holds NaN or infinite values: the network is broken.")
    layout = (
        f"stem {stem.conv}, {len(blocks)} blocks from {blocks[0][0].conv} to {blocks[-1][1].conv}, head {head}; "
        + (f"option-B shortcuts ({', '.join(p.conv for p in proj.values())})" if proj else "no projection shortcut")
    )
    return Structure(
        depth=6 * n + 2, width=w, in_channels=stem.cin, num_classes=int(out["fc.weight"].shape[0]),
        shortcut="B" if proj else "A", norm="batch" if stem.norm else "none", mean=mean, std=std,
        mapping=rows, state=out, layout=layout,
    )


def _modules(state):
    """{module prefix: {leaf name: tensor}}, in the order of the keys ('' for top-level tensors)."""
    modules = {}
    for key, v in state.items():
        prefix, _, leaf = key.rpartition(".")
        modules.setdefault(prefix, {})[leaf] = v
    return modules


def _classify(modules):
    convs, norms, heads, stats, other = [], [], [], [], []
    for prefix, leaves in modules.items():
        weight = leaves.get("weight")
        if prefix == "":
            stats += [k for k in leaves if k in ("mean", "std")]
            other += [k for k in leaves if k not in ("mean", "std")]
        elif "running_mean" in leaves and "running_var" in leaves and set(leaves) <= set(BN_FIELDS):
            norms.append(prefix)
        elif weight is not None and set(leaves) <= {"weight", "bias"} and weight.ndim == 4:
            convs.append(prefix)
        elif weight is not None and set(leaves) <= {"weight", "bias"} and weight.ndim == 2:
            heads.append(prefix)
        elif weight is not None and weight.ndim == 1:
            raise ValueError(
                f"{prefix} is a normalisation without running statistics (GroupNorm, LayerNorm or a BatchNorm "
                "without track_running_stats): skiplab builds BatchNorm with running statistics, or no norm."
            )
        else:
            other += [f"{prefix}.{k}" for k in leaves]
    if other or not convs:
        found = ", ".join(other[:3] or [f"{p}.{k}" for p, ls in list(modules.items())[:3] for k in list(ls)[:1]])
        raise ValueError(
            f"The file's tensors match no CIFAR ResNet layout: convolutions, batch norms and one linear head "
            f"expected, found e.g. {found}."
        )
    if len(set(stats)) == 1:
        raise ValueError(f"The file has '{stats[0]}' without its partner: the input normalisation is incomplete.")
    return convs, norms, heads, stats


def _pair(convs, norms, modules):
    """Layers in module order: each convolution with the norm of the same rank under the same parent module."""
    parent = lambda p: p.rpartition(".")[0]  # noqa: E731
    layers = []
    for p in dict.fromkeys(map(parent, convs + norms)):
        cs, ns = [c for c in convs if parent(c) == p], [m for m in norms if parent(m) == p]
        if norms and len(cs) != len(ns):
            what = "lacks tensors a CIFAR ResNet needs" if len(cs) > len(ns) else "has batch norms of no convolution"
            raise ValueError(
                f"The file {what}: {p or 'its top level'} holds {len(cs)} convolutions and {len(ns)} batch norms, "
                "where each convolution has its own; it is incomplete or another kind of network."
            )
        for c, m in zip(cs, ns if norms else [None] * len(cs), strict=True):
            layer = Layer(c, m, modules[c]["weight"])
            if m is not None and modules[m]["running_mean"].shape[0] != layer.cout:
                raise ValueError(
                    f"The norm {m} has {modules[m]['running_mean'].shape[0]} channels where the convolution {c} "
                    f"(shape {tuple(layer.weight.shape)}) gives {layer.cout}: the tensors do not fit together."
                )
            layers.append(layer)
    order = {c: i for i, c in enumerate(convs)}
    return sorted(layers, key=lambda ly: order[ly.conv])


def _in_order(blocks):
    """Each block's two convolutions in dataflow order. Sorted names (a safetensors file) may put the second first
    (`conv_bn2` sorts before `conv_bn_relu1`); where a block changes the width the shapes say which is first, and the
    names of every block sort alike, so when every such block says "swapped", every block is swapped."""
    changing = [(a, b) for a, b in blocks if a.cout != a.cin or b.cout != b.cin]
    if changing and all(a.cin == a.cout and b.cin != b.cout for a, b in changing):
        return [[b, a] for a, b in blocks]
    return blocks


def _stages(stem, blocks):
    """Check that the blocks chain and form 3 stages of width w, 2w, 4w with n blocks each -> (n, w)."""
    c = stem.cout
    for a, b in blocks:
        for layer, want in ((a, c), (b, a.cout)):
            if layer.cin != want or (layer is b and b.cout != a.cout):
                raise ValueError(
                    f"The tensor for {layer.conv}.weight has shape {tuple(layer.weight.shape)} where the layer "
                    f"before it gives {want} channels: the blocks do not fit together."
                )
        c = a.cout
    widths = [a.cout for a, _ in blocks]
    stages = [widths[0]] + [x for x, y in zip(widths[1:], widths, strict=False) if x != y] if widths else []
    counts = [widths.count(x) for x in stages]
    w = stem.cout
    if len(stages) == 4 and stages == [w, 2 * w, 4 * w, 8 * w]:
        raise ValueError(IMAGENET)
    if stages != [w, 2 * w, 4 * w]:
        raise ValueError(
            f"The blocks have {', '.join(map(str, stages))} channels: a CIFAR ResNet's 3 stages have {w}, {2 * w} "
            f"and {4 * w}, so this network is not one skiplab can build."
        )
    if len(set(counts)) != 1:
        raise ValueError(
            f"The stages have {', '.join(map(str, counts))} blocks: a CIFAR ResNet has the same number n "
            "in each of its 3 stages (depth 6n+2), so this network is not one skiplab can build."
        )
    if 6 * counts[0] + 2 > MAX_DEPTH:
        raise ValueError(f"This network is {6 * counts[0] + 2} layers deep; the deepest skiplab builds is {MAX_DEPTH}.")
    return counts[0], w


def _projections(ones, n, w):
    """The 1x1 convolutions as option-B shortcuts of the blocks where the shape changes -> {block index: layer}."""
    if not ones:
        return {}
    want = [(w, 2 * w), (2 * w, 4 * w)]
    if [(ly.cin, ly.cout) for ly in ones] != want:
        raise ValueError(
            f"The file has {len(ones)} 1x1 convolutions of shapes {[tuple(ly.weight.shape[:2]) for ly in ones]}: "
            f"skiplab builds option-B projections only where the shape changes ({want})."
        )
    return {n: ones[0], 2 * n: ones[1]}


def _head(heads, modules, cin):
    if len(heads) != 1:
        raise ValueError(f"The file has {len(heads)} linear layers ({', '.join(heads[:3])}): a CIFAR ResNet has one.")
    shape = tuple(modules[heads[0]]["weight"].shape)
    if shape[1] != cin:
        raise ValueError(
            f"The classifier {heads[0]} has shape {shape} where the last stage gives {cin} channels: "
            "the tensors do not fit together."
        )
    return heads[0]


def _put(layer, conv_dst, norm_dst, modules, out, rows):
    """Copy a layer into `out` under skiplab's names; a conv bias before a norm is folded into its running mean."""
    conv = modules[layer.conv]
    out[f"{conv_dst}.weight"] = conv["weight"]
    bias = conv.get("bias")
    if layer.norm is None:
        out[f"{conv_dst}.bias"] = bias if bias is not None else torch.zeros(layer.cout)
        rows.append((layer.conv, conv_dst, ""))
        return
    norm = modules[layer.norm]
    defaults = {"weight": torch.ones(layer.cout), "bias": torch.zeros(layer.cout)}
    for f in BN_FIELDS:
        if f in norm or f in defaults:
            out[f"{norm_dst}.{f}"] = norm.get(f, defaults.get(f))
    note = ""
    if bias is not None:
        out[f"{norm_dst}.running_mean"] = norm["running_mean"] - bias
        note = f"its bias folded into {norm_dst}.running_mean"
    rows += [(layer.conv, conv_dst, note), (layer.norm, norm_dst, "")]


def _stat(t, c):
    if t is None or t.numel() != c:
        raise ValueError(f"The file's input statistics hold {None if t is None else t.numel()} values for {c} channels.")
    # float32 buffers: 7 significant digits give back the config's numbers (and the same float32 values)
    return tuple(float(f"{float(v):.7g}") for v in t.flatten())


def load_into(model, structure: Structure):
    """Load a structure's tensors into a `models.resnet.ResNet` built for it (its mean/std buffers kept, and the
    norms' step counters where the file has none); returns the model. ValueError when a tensor does not fit."""
    want = model.state_dict()
    keep = {k: v for k, v in want.items() if k in ("mean", "std") or k.endswith("num_batches_tracked")}
    try:
        model.load_state_dict(keep | structure.state)
    except RuntimeError as e:
        line = str(e).strip().splitlines()[-1].strip()[:200]
        raise ValueError(f"The tensors do not fit a {model.config.name}: {line}") from None
    return model
