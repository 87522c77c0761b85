"""He et al.'s CIFAR augmentation in torch."""


import torch


def augment(x, generator=None, pad=4):
    """He et al.'s CIFAR augmentation in torch: zero-pad by `pad`, random 32x32 crop, random h-flip.

    Args:
        x: (B, C, H, W) images (any dtype).
        generator: torch.Generator for reproducible draws.
    Returns:
        (B, C, H, W), same dtype.
    """
    B, C, H, W = x.shape
    xp = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (B, C, H+2p, W+2p)
    oy = torch.randint(0, 2 * pad + 1, (B,), generator=generator)
    ox = torch.randint(0, 2 * pad + 1, (B,), generator=generator)
    flip = torch.rand(B, generator=generator) < 0.5
    rows = oy[:, None] + torch.arange(H)  # (B, H)
    cols = ox[:, None] + torch.arange(W)  # (B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    b, c = torch.arange(B)[:, None, None, None], torch.arange(C)[None, :, None, None]
    return xp[b, c, rows[:, None, :, None], cols[:, None, None, :]]
