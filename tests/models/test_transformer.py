import pytest
import torch
import torch.nn.functional as F

from models.text import load_corpus, windows
from models.transformer import Transformer, TransformerConfig


def tiny(ln="pre", n_layer=2, **kw):
    return Transformer(TransformerConfig(vocab_size=11, n_layer=n_layer, d_model=16, n_head=2, block_size=8, ln=ln,
                                         **kw), seed=0)


def by_hand(m, idx, skips):
    """The model's function written out from its parameters: x + F(ln(x)) (pre) or ln(x + F(x)) (post)."""
    T, d, h = idx.shape[1], m.config.d_model, m.config.n_head

    def attn(a, x):
        q, k, v = (x @ a.qkv.weight.T + a.qkv.bias).split(d, dim=2)
        q, k, v = (t.view(*t.shape[:2], h, d // h).transpose(1, 2) for t in (q, k, v))
        w = (q @ k.transpose(-1, -2)) / (d // h) ** 0.5
        w = w.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf")).softmax(-1)
        y = (w @ v).transpose(1, 2).reshape(x.shape)
        return y @ a.proj.weight.T + a.proj.bias

    def mlp(f, x):
        return F.gelu(x @ f.fc.weight.T + f.fc.bias) @ f.proj.weight.T + f.proj.bias

    x = m.wte.weight[idx] + m.wpe.weight[:T]
    for b, s in zip(m.blocks, skips):
        f = b.branch.f
        fn = attn if b.kind == "attn" else mlp
        if m.config.ln == "pre":
            ln = b.branch.ln
            fx = fn(f, F.layer_norm(x, (d,), ln.weight, ln.bias))
            x = x + fx if s else fx
        else:
            pre = x + fn(f, x) if s else fn(f, x)
            x = F.layer_norm(pre, (d,), b.act.weight, b.act.bias)
    if m.config.ln == "pre":
        x = F.layer_norm(x, (d,), m.ln_f.weight, m.ln_f.bias)
    return x @ m.lm_head.weight.T


@pytest.mark.parametrize("ln", ["pre", "post"])
@pytest.mark.parametrize("skip", [None, [True, False], [False, True, True, False]])
def test_the_model_computes_the_written_out_function(ln, skip):
    m = tiny(ln)
    idx = torch.randint(0, 11, (3, 8), generator=torch.Generator().manual_seed(1))
    skips, _ = m.overrides(skip)
    with torch.no_grad():
        assert torch.allclose(m(idx, skip=skip), by_hand(m, idx, skips), atol=1e-5)


def test_a_layer_skip_applies_to_both_sublayers_and_the_config_is_the_default():
    m = tiny(n_layer=3)
    assert m.overrides([True, False, None])[0] == [True, True, False, False, True, True]
    assert tiny(skip=False).overrides()[0] == [False] * 4
    with pytest.raises(ValueError, match="per layer"):
        m.overrides([True] * 5)


def test_causal_a_prediction_never_reads_later_characters():
    m = tiny("post")
    idx = torch.randint(0, 11, (1, 8), generator=torch.Generator().manual_seed(2))
    later = idx.clone()
    later[0, 5:] = (later[0, 5:] + 1) % 11
    with torch.no_grad():
        assert torch.allclose(m(idx)[:, :5], m(later)[:, :5], atol=1e-6)
        assert not torch.allclose(m(idx)[:, 5:], m(later)[:, 5:])


def test_loss_with_targets_is_cross_entropy_and_gradients_reach_every_parameter():
    m = tiny("post")
    c = load_corpus()
    x, y = windows(c.encode("the river ran " * 4)[:40] % 11, 2, 8, torch.Generator().manual_seed(0))
    logits, loss = m(x, y)
    assert loss.item() == pytest.approx(F.cross_entropy(logits.reshape(-1, 11), y.reshape(-1)).item())
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in m.parameters())


@pytest.mark.parametrize("kw, words", [(dict(ln="mid"), "'post'"), (dict(d_model=10, n_head=3), "evenly"),
                                       (dict(n_layer=25), "at most 24"), (dict(n_layer=0), "positive")])
def test_bad_configs_get_a_sentence(kw, words):
    with pytest.raises(ValueError, match=words):
        TransformerConfig(**kw)


def test_too_long_a_sequence_is_refused_in_words():
    with pytest.raises(ValueError, match="at most 8"):
        tiny()(torch.zeros(1, 9, dtype=torch.int64))


def test_corpus_round_trips_and_refuses_unknown_characters():
    c = load_corpus()
    assert len(c.text) > 10_000 and c.decode(c.encode(c.text[:200])) == c.text[:200]
    with pytest.raises(ValueError, match="no"):
        c.encode("€")
