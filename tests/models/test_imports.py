"""Bring your own network (models/imports.py, checkpoints.py, structure.py, readings.py, zoo_cli.py): a peer's CIFAR
ResNet becomes a zoo model computing the peer's function, and every bad file is refused with one sentence and nothing
written. The real published files are in tests/models/test_imports_published.py.

The oracle is the peer's network written here from scratch, from the description in their README
(akamaster/pytorch_resnet_cifar10: option-A shortcut padding the new channels on BOTH sides), never our ResNet.
"""

import hashlib
import io
import json
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save as safetensors_save
from safetensors.torch import save_file

from models import checkpoints, imports, zoo, zoo_cli
from models.data import load_dataset
from models.resnet import ResNet, ResNetConfig

PEER = Path(__file__).resolve().parents[3] / "shared" / "weights" / "pytorch_resnet_cifar10"
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # the peer README's normalisation
AKAMASTER = {"skip": True, "pad": "both", "downsample": "subsample", "normalisation": "imagenet"}  # random nets: told


class PeerBlock(nn.Module):
    """The peer's BasicBlock. Option A: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4));
    option B: a strided 1x1 conv and a BN (`shortcut.0`, `shortcut.1`) where the shape changes."""

    def __init__(self, cin, planes, stride, option="A"):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        change = stride != 1 or cin != planes
        self.pad = change and option == "A" and planes // 4
        if change and option == "B":
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if hasattr(self, "shortcut"):
            short = self.shortcut(x)
        else:
            short = F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad)) if self.pad else x
        return F.relu(out + short)


class PeerResNet(nn.Module):
    """conv1, bn1, layer1-3 of `blocks` blocks each (widths 16, 32, 64), global average pool, linear."""

    def __init__(self, blocks=(3, 3, 3), classes=10, option="A"):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin, layers = 16, []
        for i, (planes, n) in enumerate(zip((16, 32, 64), blocks)):
            layer = []
            for j in range(n):
                layer.append(PeerBlock(cin, planes, 2 if i > 0 and j == 0 else 1, option))
                cin = planes
            layers.append(nn.Sequential(*layer))
        self.layer1, self.layer2, self.layer3 = layers
        self.linear = nn.Linear(64, classes)

    def forward(self, x):  # x: RGB in [0, 1]; the peer normalises in its data loader
        x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(F.avg_pool2d(out, out.size()[3]).flatten(1))


def random_peer(blocks=(1, 1, 1), seed=0, option="A"):
    """A peer network with random weights and random BN statistics (so a lost or misplaced channel shows)."""
    torch.manual_seed(seed)
    net = PeerResNet(blocks, option=option)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def th_bytes(state, wrap=True, prefix="module."):
    """What the peer's training script writes: torch.save({'state_dict': ..., 'best_prec1': ...})."""
    sd = {prefix + k: v for k, v in state.items()}
    b = io.BytesIO()
    torch.save({"state_dict": sd, "best_prec1": 91.0} if wrap else sd, b)
    return b.getvalue()


@pytest.fixture
def user_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIPLAB_ZOO", str(tmp_path / "zoo"))
    return tmp_path / "zoo"


def written(folder):
    return sorted(p.name for p in Path(folder).rglob("*")) if Path(folder).exists() else []


def images(n=64, seed=0):
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


# --- the conversion computes the peer's function --------------------------------------------------------


@pytest.mark.parametrize("wrap, prefix", [(True, "module."), (False, ""), (True, "")])
def test_converted_random_peer_computes_the_peer_function(wrap, prefix):
    peer = random_peer((2, 2, 2))
    model, facts = imports.to_resnet(th_bytes(peer.state_dict(), wrap, prefix), "mine.pth", **AKAMASTER)
    assert model.config.depth == 14 and model.config.num_classes == 10 and model.config.shortcut == "A"
    assert model.config.mean == MEAN and model.config.std == STD and facts["origin"] == "imported"
    assert model.config.pad == "both" and facts["layout"].startswith("mapped by structure: stem conv1")
    x = images()
    with torch.no_grad():
        ref, ours = peer(x), model(x)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    # the same tensors copied in order, without the permutation, give another function (the README's trap)
    with torch.no_grad():
        by_name = _load_by_name(peer)(x)
    assert (by_name - ref).abs().max() > 1e-2


def _load_by_name(peer):
    """The peer's tensors copied into our ResNet by position, no channel permutation (what goes wrong)."""
    cfg = ResNetConfig(depth=6 * len(peer.layer1) + 2, mean=MEAN, std=STD)
    net = ResNet(cfg).eval()
    ours = [k for k in net.state_dict() if not k.endswith("num_batches_tracked") and k not in ("mean", "std")]
    theirs = [k for k in peer.state_dict() if not k.endswith("num_batches_tracked")]
    sd = net.state_dict() | dict(zip(ours, [peer.state_dict()[k] for k in theirs], strict=True))
    net.load_state_dict(sd)
    return net


def test_safetensors_and_th_give_the_same_network():
    peer = random_peer((1, 1, 1), seed=3)
    a, _ = imports.to_resnet(th_bytes(peer.state_dict()), "a.th", **AKAMASTER)
    b, _ = imports.to_resnet(
        safetensors_save({k: v.contiguous() for k, v in peer.state_dict().items()}), "b.safetensors", **AKAMASTER
    )
    x = images(16)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
        torch.testing.assert_close(a(x), peer(x), atol=1e-5, rtol=0)


def test_option_b_is_read_from_the_shapes():
    peer = random_peer((2, 2, 2), seed=4, option="B")
    a = imports.analyse(th_bytes(peer.state_dict()), "b.pth", normalisation="imagenet")
    model, facts = a.model, a.facts
    assert model.config.shortcut == "B" and "option-B" in facts["layout"] and model.config.skip
    assert ("layer2.0.shortcut.0", "blocks.2.shortcut.conv", "") in a.mapping
    assert ("layer3.0.shortcut.1", "blocks.4.shortcut.bn", "") in a.mapping
    x = images(16)
    with torch.no_grad():
        torch.testing.assert_close(model(x), peer(x), atol=1e-5, rtol=1e-5)


def test_our_own_layout_imports_unchanged(tmp_path):
    torch.manual_seed(1)
    cfg = ResNetConfig(depth=8, mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3), shortcut="B")
    net = ResNet(cfg).eval()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "ours.safetensors"))
    model, facts = imports.to_resnet((tmp_path / "ours.safetensors").read_bytes(), "ours.safetensors")
    assert model.config == cfg and "stem conv," in facts["layout"] and ("mean", "mean", "the file's input statistics") in \
        imports.analyse((tmp_path / "ours.safetensors").read_bytes(), "ours.safetensors").mapping
    x = images(8)
    with torch.no_grad():
        assert torch.equal(model(x), net(x))
    plain, _ = imports.to_resnet((tmp_path / "ours.safetensors").read_bytes(), "ours.safetensors", skip=False)
    assert plain.config.skip is False


# --- import_bytes, the CLI, and what is written ------------------------------------------------------------


def test_import_bytes_writes_a_card_and_the_catalog_lists_it(user_zoo):
    peer = random_peer()
    data = th_bytes(peer.state_dict())
    c = imports.import_bytes(data, "net.th", full_test=False, **AKAMASTER)
    name = c["name"]
    assert name.startswith("cifar10-resnet8-imported-") and sorted(written(user_zoo)) == [
        f"{name}.json",
        f"{name}.safetensors",
    ]
    assert c["source_sha256"] == hashlib.sha256(data).hexdigest() and c["source_file"] == "net.th"
    assert c["origin"] == "imported" and c["sample_images"] == 932 and "test_acc" not in c
    x, y = load_dataset("cifar10-sample", "test")
    with torch.no_grad():
        assert c["sample_acc"] == int((peer(x.float() / 255).argmax(1) == y).sum()) / len(y)
    row = zoo.list().set_index("name").loc[name]
    assert row.origin == "imported" and row.source == "user" and row.depth == 8
    with torch.no_grad():
        torch.testing.assert_close(zoo.load(name)(x[:32].float() / 255), peer(x[:32].float() / 255), atol=1e-5, rtol=0)


def test_cli_import_shows_the_mapping_and_readme(tmp_path, capsys):
    peer = random_peer(seed=5)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "r8.pth").write_bytes(th_bytes(peer.state_dict()))
    told = ["--residual", "--pad", "both", "--downsample", "subsample", "--normalisation", "imagenet"]
    args = ["import", str(tmp_path / "in" / "r8.pth"), "--name", "cifar10-resnet8-mine", "--zoo", str(tmp_path / "z")]
    assert zoo_cli.main([*args, "--no-full-test", *told]) == 0
    out = capsys.readouterr().out
    assert "cifar10-resnet8-mine" in out and "932 sample images" in out
    assert "layer2.0.conv2 -> blocks.1.branch.conv2" in out.replace("  ", " ").replace("  ", " ")
    assert "Read as a residual net with subsampling shortcuts padded on both sides, ImageNet normalisation" in out
    card = json.loads((tmp_path / "z" / "cifar10-resnet8-mine.json").read_text())
    assert card["layout"].startswith("mapped by structure") and "--pad both" in card["command"]
    (tmp_path / "in" / "bad.pth").write_bytes(b"not a checkpoint at all")
    assert zoo_cli.main(["import", str(tmp_path / "in" / "bad.pth"), "--zoo", str(tmp_path / "z2")]) == 2
    assert "damaged or truncated" in capsys.readouterr().err and not (tmp_path / "z2").exists()
    assert zoo_cli.main(["readme"]) == 0 and capsys.readouterr().out == zoo.shipped_readme()


def test_python_m_models_zoo_still_runs_the_command_line():
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "models.zoo", "readme"], cwd=root, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out == zoo.shipped_readme()


@pytest.mark.slow
def test_a_shipped_name_is_not_taken(user_zoo):
    with pytest.raises(ValueError, match="shipped model"):
        imports.import_bytes(th_bytes(random_peer().state_dict()), "x.th", name="cifar10-resnet20", full_test=False,
                             **AKAMASTER)
    assert written(user_zoo) == []
    for file in sorted(PEER.glob("resnet20-*.th")) if PEER.is_dir() else []:  # the shipped file itself, again
        with pytest.raises(ValueError, match="already shipped as cifar10-resnet20-published"):
            imports.import_file(file, full_test=False)
        imports.import_file(file, name="cifar10-resnet20-copy", full_test=False)
        assert written(user_zoo) == ["cifar10-resnet20-copy.json", "cifar10-resnet20-copy.safetensors"]


# --- bad files: one sentence, nothing written -------------------------------------------------------------


class _Touch:
    """Unpickling this calls open(marker, "w"): it creates a file, the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_that_would_run_code_is_refused_without_running_it(user_zoo, tmp_path):
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Touch(proof)))  # the payload is live: plain unpickling runs it
    assert proof.exists()
    for kind in ("torch", "pickle"):
        marker = tmp_path / f"marker-{kind}"
        payload = {"state_dict": {"conv1.weight": torch.zeros(16, 3, 3, 3), "evil": _Touch(marker)}}
        if kind == "torch":
            b = io.BytesIO()
            torch.save(payload, b)
            data = b.getvalue()
        else:
            data = pickle.dumps(payload)
        with pytest.raises(ValueError, match="asks to run code") as e:
            imports.import_bytes(data, "evil.pth", full_test=False)
        assert "without running" in str(e.value) and not marker.exists() and written(user_zoo) == []


def _peer_file(blocks=(1, 1, 1)):
    return th_bytes(random_peer(blocks).state_dict())


def _imagenet_state():
    s = {
        "conv1.weight": torch.zeros(64, 3, 7, 7),
        "bn1.weight": torch.ones(64),
        "fc.weight": torch.zeros(1000, 512),
        "fc.bias": torch.zeros(1000),
    }
    for i in (1, 2, 3, 4):
        s[f"layer{i}.0.conv1.weight"] = torch.zeros(64 * 2 ** (i - 1), 64, 3, 3)
    return s


def _with(state, **changes):
    s = dict(state)
    for k, v in changes.items():
        s[k.replace("__", ".")] = v
    return s


def _gap():
    return {k: v for k, v in random_peer((2, 2, 2)).state_dict().items() if not k.startswith("layer2.1.")}


def _nan():
    s = dict(random_peer().state_dict())
    s["layer1.0.conv1.weight"] = s["layer1.0.conv1.weight"].clone()
    s["layer1.0.conv1.weight"][0, 0, 0, 0] = float("nan")
    return s


def _bytes_of(state, fmt="th"):
    if fmt == "safetensors":
        return safetensors_save({k: v.contiguous() for k, v in state.items()})
    b = io.BytesIO()
    torch.save(state, b)
    return b.getvalue()


BAD = [  # (id, bytes or a function making them, file name, words the sentence must contain)
    ("truncated-th", lambda: _peer_file()[:5000], "r.th", "damaged or truncated"),
    (
        "truncated-safetensors",
        lambda: _bytes_of(random_peer().state_dict(), "safetensors")[:-3000],
        "r.safetensors",
        "damaged or truncated",
    ),
    ("garbage", lambda: bytes(range(256)) * 40, "r.pt", "damaged or truncated"),
    ("not-safetensors", lambda: b"hello, not a safetensors header", "r.safetensors", "damaged or truncated"),
    ("empty", lambda: b"", "r.pth", "empty"),
    ("wrong-suffix", lambda: _peer_file(), "r.ckpt", ".safetensors, .th, .pt or .pth"),
    ("a-tensor", lambda: _bytes_of(torch.zeros(3)), "r.pt", "not a state dict"),
    ("imagenet", lambda: _bytes_of(_imagenet_state()), "resnet18.pth", "ImageNet ResNet"),
    ("imagenet-safetensors", lambda: _bytes_of(_imagenet_state(), "safetensors"), "r18.safetensors", "ImageNet ResNet"),
    ("stages-differ", lambda: _peer_file((3, 3, 2)), "r.th", "3, 3, 2 blocks"),
    ("block-missing", lambda: _bytes_of(_gap()), "r.th", "2, 1, 2 blocks"),
    ("whole-model", lambda: _bytes_of(random_peer()), "r.pth", "asks to run code"),
    ("random-weights", lambda: _peer_file(), "r.th", "near chance"),
    (
        "misshapen",
        lambda: _bytes_of(_with(random_peer().state_dict(), layer2__0__conv2__weight=torch.zeros(32, 16, 3, 3))),
        "r.th",
        "shape",
    ),
    (
        "incomplete",
        lambda: _bytes_of({k: v for k, v in random_peer().state_dict().items() if "layer3.0.bn2" not in k}),
        "r.th",
        "lacks tensors",
    ),
    ("nan", lambda: _bytes_of(_nan()), "r.th", "NaN"),
    (
        "unknown-layout",
        lambda: _bytes_of({"encoder.weight": torch.zeros(4, 4)}),
        "r.pt",
        "match no CIFAR ResNet layout",
    ),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_file_is_refused_with_one_sentence_and_nothing_written(case, user_zoo, capsys):
    _, make, filename, words = case
    with pytest.raises(ValueError) as e:
        imports.import_bytes(make(), filename, full_test=False)
    msg = str(e.value)
    if case[0] == "random-weights":  # the sentence names the readings tried
        assert "readings: residual or plain; zero channels at the end or on both sides" in msg
    print(f"{case[0]}: {msg}")
    assert words in msg and "\n" not in msg and "Traceback" not in msg
    assert written(user_zoo) == []


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, user_zoo):
    big = tmp_path / "huge.pth"
    with open(big, "wb") as f:
        f.truncate(imports.MAX_BYTES + 1)  # sparse: nothing to read, only its size
    with pytest.raises(ValueError, match=r"over the 100 MB limit"):
        imports.import_file(big, full_test=False)
    with pytest.raises(ValueError, match=r"over the 100 MB limit"):
        imports.import_bytes(bytes(imports.MAX_BYTES + 1), "huge.pth", full_test=False)
    assert written(user_zoo) == []
    assert imports.MAX_BYTES > 4 * sum(p.numel() for p in ResNet(ResNetConfig(depth=1202)).parameters())


# --- what people save, and names that say nothing ------------------------------------------------------------


def _saved(obj, fmt="th"):
    b = io.BytesIO()
    torch.save(obj, b)
    return b.getvalue()


@pytest.mark.parametrize("wrapper", checkpoints.WRAPPERS)
@pytest.mark.parametrize("prefix", ["", "module.", "_orig_mod.", "module._orig_mod."])
def test_each_wrapper_and_prefix_is_unwrapped(wrapper, prefix):
    sd = random_peer().state_dict()
    saved = {wrapper: {prefix + k: v for k, v in sd.items()}, "epoch": 3, "acc": 91.2, "optimizer": {"lr": 0.1}}
    got = checkpoints.read_state_dict(_saved(saved), "x.pth")
    assert list(got) == list(sd) and all(torch.equal(got[k], sd[k]) for k in sd)


@pytest.mark.parametrize("outer", ["model", "checkpoint_state", "weights"])
def test_a_state_dict_nested_one_level_deeper_is_found(outer):
    sd = random_peer().state_dict()
    saved = {outer: {"state_dict": sd, "step": 10}} if outer != "checkpoint_state" else {"net": {"model": sd}}
    got = checkpoints.read_state_dict(_saved(saved), "x.pth")
    assert set(got) == set(sd)


def test_a_dict_without_tensors_says_what_it_holds():
    with pytest.raises(ValueError, match="holds no tensors .*'epoch', 'acc'.*'net'"):
        checkpoints.read_state_dict(_saved({"epoch": 3, "acc": 91.2}), "x.pth")


def nested_names(state):
    """A peer's state dict under nested Sequential names: conv1.0 / conv1.1 for the stem, layer1.0.conv_bn_relu1.{0,1}
    and layer1.0.conv_bn2.{0,1} in the blocks, fc for the head (what `nn.Sequential(conv, bn, relu)` members save)."""
    out = {}
    for k, v in state.items():
        k = k.replace("conv1.", "conv1.0.", 1) if k.startswith("conv1.") else k
        k = k.replace("bn1.", "conv1.1.", 1) if k.startswith("bn1.") else k
        k = k.replace(".conv1.", ".conv_bn_relu1.0.").replace(".bn1.", ".conv_bn_relu1.1.")
        out[k.replace(".conv2.", ".conv_bn2.0.").replace(".bn2.", ".conv_bn2.1.").replace("linear.", "fc.")] = v
    return out


@pytest.mark.parametrize("fmt", ["th", "safetensors"])
def test_nested_sequential_names_map_by_structure(fmt):
    peer = random_peer((2, 2, 2), seed=7)
    state = nested_names(peer.state_dict())
    assert "layer1.0.conv_bn_relu1.1.weight" in state and "conv1.0.weight" in state
    data = _bytes_of(state, fmt)
    a = imports.analyse(data, f"nested.{'pth' if fmt == 'th' else fmt}", **AKAMASTER)
    assert ("layer1.0.conv_bn_relu1.0", "blocks.0.branch.conv1", "") in a.mapping
    assert ("layer2.0.conv_bn2.1", "blocks.2.branch.bn2", "") in a.mapping and ("fc", "fc", "") in a.mapping
    x = images(16)
    with torch.no_grad():
        torch.testing.assert_close(a.model(x), peer(x), atol=1e-5, rtol=1e-5)


def test_conv_biases_before_batch_norm_are_folded_exactly():
    from tests.models.test_imports_published import TwinNet

    torch.manual_seed(2)
    ref = TwinNet(1, residual=True)
    with torch.no_grad():
        for m in ref.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
            if isinstance(m, nn.Conv2d):
                m.bias.uniform_(-0.5, 0.5)
    ref.eval()
    told = {"skip": True, "pad": "both", "downsample": "average", "normalisation": "cifar10-0.2023"}
    a = imports.analyse(_bytes_of(ref.state_dict()), "twin.pth", **told)
    assert ("conv0", "conv", "its bias folded into bn.running_mean") in a.mapping
    assert a.facts["conversion"].startswith("convolution biases folded")
    x = images(16)
    with torch.no_grad():
        torch.testing.assert_close(a.model(x), ref(x), atol=1e-4, rtol=0)


def test_near_chance_is_refused_naming_the_readings_tried(user_zoo):
    with pytest.raises(ValueError, match="near chance") as e:
        imports.import_bytes(_peer_file(), "r.th", full_test=False)
    msg = str(e.value)
    assert "at best" in msg and "readings:" in msg and written(user_zoo) == []


def test_the_models_package_has_no_import_cycle():
    """models/imports.py and models/zoo.py used to import each other (the CLI lived in the zoo); now the CLI is
    models/zoo_cli.py, and the import graph of models/ (every import statement, lazy ones too) has no cycle."""
    import ast

    root = Path(__file__).resolve().parents[2] / "models"
    graph = {}
    for f in root.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "models":
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("models."):
                deps.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("models.")}
        graph[f.stem] = deps - {f.stem}

    def reaches(start, goal, seen=()):
        return any(d == goal or (d not in seen and reaches(d, goal, (*seen, d))) for d in graph.get(start, ()))

    assert graph["zoo_cli"] >= {"imports", "zoo"} and "imports" not in graph["zoo"]
    assert [m for m in graph if reaches(m, m)] == []
