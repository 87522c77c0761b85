"""bench/load.py's cross-talk checks can fail (its protocol client, frame/visitor.py, is tested in tests/frame).
Not timed; no server (the bench itself is the end-to-end run)."""

from bench import load


def test_depth_check_catches_another_sessions_depth():
    s = {"depth": 20, "seed": 1, "batch": 32}
    assert load.depth_check(load.GF, s, ["ResNet-20: 0.6 times", "Loss on this batch: ResNet-20 3.5, plain-20 2.4."])[0]
    assert not load.depth_check(load.GF, s, ["ResNet-20: 0.6 times", "ResNet-56: 4.9 times larger"])[0]
    assert not load.depth_check(load.GF, s, ["no depth named"])[0]


def test_expected_loss_is_the_pages_caption_and_depends_on_the_seed():
    memo = {}
    a = load.expect(load.GF, {"depth": 8, "seed": 0, "batch": 4}, memo)
    b = load.expect(load.GF, {"depth": 8, "seed": 1, "batch": 4}, memo)
    assert a.startswith("Loss on this batch: ResNet-8 ") and ", plain-8 " in a and a.endswith(".")
    assert a != b
