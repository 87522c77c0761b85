"""Decoding user images: every case of issue 4's "Bad input", with numpy as the oracle.

The images are made here with Pillow/numpy (and two PNGs by hand), never committed.
`BAD` and `ODD` are shared with tests/test_page_inspect.py.
"""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from models.uploads import MAX_PIXELS, Upload, decode_image


def _save(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_by_hand(w, h, bit_depth=8, colour=2, raw=b""):
    """A PNG written byte by byte: any declared size, any payload (for bombs and 16-bit RGB)."""
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(raw)) + _png_chunk(b"IEND", b"")


def photo(w=300, h=200, seed=0):
    """A photo-like RGB image (smooth sky, a sun, a horizon, sensor noise) as uint8 (h, w, 3)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(w, h)
    sky = np.stack([0.3 + 0.4 * yy, 0.5 + 0.3 * yy, 0.9 - 0.2 * yy], -1)
    ground = np.stack([0.25 + 0.2 * xx, 0.5 - 0.1 * yy, 0.15 + 0 * xx], -1)
    img = np.where((yy > 0.45 + 0.05 * np.sin(12 * xx))[..., None], ground, sky)
    sun = (xx - 0.7) ** 2 + (yy - 0.2) ** 2 < 0.008
    img[sun] = (1.0, 0.85, 0.3)
    img = img + rng.normal(0, 0.02, img.shape)
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def photo_jpeg(w=300, h=200):
    return _save(Image.fromarray(photo(w, h)), "JPEG", quality=90)


def _noise_png(n=64):
    return _save(Image.fromarray(np.random.default_rng(1).integers(0, 256, (n, n, 3), dtype=np.uint8)), "PNG")


def _palette_transparent():
    p = np.zeros((64, 64), np.uint8)
    p[:, 32:] = 1  # left half: index 0 (transparent red), right half: index 1 (green)
    im = Image.fromarray(p, "P")
    im.putpalette([255, 0, 0, 0, 200, 0] + [0] * 762)
    return _save(im, "PNG", transparency=0)


def _animated_gif():
    frames = [Image.new("RGB", (40, 40), c) for c in ((250, 0, 0), (0, 0, 250), (0, 250, 0))]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def _exif_rotated(fmt="PNG"):
    a = np.zeros((40, 60, 3), np.uint8)  # stored landscape, 60 wide
    a[:20, :30] = (255, 0, 0)  # stored top-left quarter red
    ex = Image.Exif()
    ex[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    return a, _save(Image.fromarray(a), fmt, exif=ex)


# (name, bytes, words the error must contain)
BAD = [
    ("empty.png", b"", "empty"),
    ("notes.png", b"Dear diary,\nthis is text renamed to .png\n" * 5, "text"),
    ("truncated.png", _noise_png()[: len(_noise_png()) // 2], "truncated"),
    ("truncated.jpg", photo_jpeg()[: len(photo_jpeg()) // 2], "truncated"),
    ("bomb.png", png_by_hand(60_000, 60_000), "bomb"),
    ("big.png", png_by_hand(9_000, 9_000), "megapixels"),
    ("drawing.svg", (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32">'
                     b'<circle cx="16" cy="16" r="8"/></svg>'), "SVG"),
    ("paper.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n", "PDF"),
    ("dot.png", _save(Image.new("RGB", (1, 1), (9, 9, 9)), "PNG"), "1 x 1"),
]


def _odd():
    g = (np.arange(64 * 48).reshape(48, 64) % 251).astype(np.uint8)
    rgba = np.dstack([photo(64, 64), np.tile(np.linspace(0, 255, 64).astype(np.uint8), (64, 1))])
    strip = np.zeros((100, 10_000, 3), np.uint8)
    strip[:] = (200, 0, 0)
    strip[:, 4950:5050] = (0, 180, 0)
    v16 = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    return [  # (name, bytes, words a note must contain)
        ("gray.png", _save(Image.fromarray(g, "L"), "PNG"), "grayscale"),
        ("palette.png", _palette_transparent(), "transparent"),
        ("rgba.png", _save(Image.fromarray(rgba, "RGBA"), "PNG"), "transparent"),
        ("cmyk.jpg", _save(Image.new("CMYK", (48, 48), (0, 255, 255, 0)), "JPEG", quality=95), "CMYK"),
        ("deep.png", _save(Image.fromarray(v16), "PNG"), "16-bit"),
        ("anim.gif", _animated_gif(), "first frame"),
        ("rotated.jpg", _exif_rotated("JPEG")[1], "EXIF"),
        ("strip.png", _save(Image.fromarray(strip), "PNG"), "strip"),
    ]


ODD = _odd()


@pytest.mark.parametrize("name,data,words", BAD, ids=[c[0] for c in BAD])
def test_bad_input_is_refused_with_a_clear_message(name, data, words):
    with pytest.raises(ValueError) as e:
        decode_image(data, name)
    assert words.lower() in str(e.value).lower(), str(e.value)
    assert "Traceback" not in str(e.value)


@pytest.mark.parametrize("name,data,words", ODD, ids=[c[0] for c in ODD])
def test_odd_input_is_decoded_and_the_change_is_said(name, data, words):
    up = decode_image(data, name)
    assert up.pixels.shape == (32, 32, 3) and up.pixels.dtype == np.uint8
    assert up.preview.ndim == 3 and up.preview.shape[2] == 3
    assert any(words.lower() in n.lower() for n in up.notes), up.notes
    x = up.tensor()
    assert x.shape == (1, 3, 32, 32) and 0 <= x.min() and x.max() <= 1


def test_the_pixel_limit_is_checked_before_decoding():
    # the IDAT holds 3 bytes: decoding would fail as "truncated"; the header check must come first
    with pytest.raises(ValueError, match="megapixels"):
        decode_image(png_by_hand(8_000, 8_000, raw=b"\x00\x00\x00"), "x.png")
    with pytest.raises(ValueError, match="megapixels"):
        decode_image(_save(Image.new("RGB", (300, 200)), "PNG"), "x.png", max_pixels=300 * 200 - 1)
    assert MAX_PIXELS >= 24_000_000  # a 24 MP phone photo is welcome


def test_allowed_formats_decode_to_the_same_pixels():
    a = photo(64, 64)
    ref = decode_image(_save(Image.fromarray(a), "PNG"), "a.png").pixels.astype(int)
    for fmt, kw in (("BMP", {}), ("WEBP", {"lossless": True}), ("GIF", {})):
        up = decode_image(_save(Image.fromarray(a), fmt, **kw), "a." + fmt.lower())
        assert up.format == fmt
        tol = 40 if fmt == "GIF" else 0  # GIF quantises to 256 colours
        assert np.abs(up.pixels.astype(int) - ref).mean() <= max(tol / 4, 0.5)
    up = decode_image(photo_jpeg(64, 64), "a.jpg")
    assert up.format == "JPEG" and np.abs(up.pixels.astype(int) - ref).mean() < 4


def test_resize_is_an_area_average_of_the_centre_square():
    a = photo(320, 320, seed=3)
    up = decode_image(_save(Image.fromarray(a), "PNG"), "a.png")
    block_mean = a.reshape(32, 10, 32, 10, 3).astype(float).mean((1, 3))
    assert np.abs(up.pixels - block_mean).mean() < 3  # a smooth photo: Lanczos ~ area mean
    wide = photo(300, 200, seed=4)
    up_wide = decode_image(_save(Image.fromarray(wide), "PNG"), "w.png")
    up_centre = decode_image(_save(Image.fromarray(wide[:, 50:250]), "PNG"), "c.png")
    np.testing.assert_array_equal(up_wide.pixels, up_centre.pixels)
    assert up_wide.crop_box == (50, 0, 250, 200) and up_wide.size == (300, 200)


def test_grayscale_equals_the_same_gray_stored_as_rgb():
    g = (np.arange(64 * 48).reshape(48, 64) % 251).astype(np.uint8)
    a = decode_image(_save(Image.fromarray(g, "L"), "PNG"), "g.png").pixels
    b = decode_image(_save(Image.fromarray(np.dstack([g, g, g])), "PNG"), "c.png").pixels
    np.testing.assert_array_equal(a, b)


def test_transparency_is_composited_on_white():
    rgb = photo(64, 64, seed=5).astype(float)
    alpha = np.tile(np.linspace(0, 1, 64), (64, 1))[..., None]
    a8 = np.round(alpha * 255).astype(np.uint8)
    up = decode_image(_save(Image.fromarray(np.dstack([rgb.astype(np.uint8), a8]), "RGBA"), "PNG"), "a.png")
    want = rgb * (a8 / 255.0) + 255 * (1 - a8 / 255.0)
    ref = decode_image(_save(Image.fromarray(np.round(want).astype(np.uint8)), "PNG"), "w.png")
    assert np.abs(up.pixels.astype(int) - ref.pixels.astype(int)).max() <= 2
    pal = decode_image(_palette_transparent(), "p.png")
    assert (pal.preview[:, :32] == 255).all() and (pal.preview[:, 32:] == (0, 200, 0)).all()


def test_cmyk_jpeg_becomes_rgb():
    up = decode_image({n: d for n, d, _ in ODD}["cmyk.jpg"], "cmyk.jpg")
    assert up.mode == "CMYK"
    assert np.abs(up.pixels.astype(int) - (255, 0, 0)).max() <= 12  # C=0 M=Y=255 K=0 is red


def test_16_bit_grayscale_is_scaled_not_clipped():
    v = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    up = decode_image(_save(Image.fromarray(v), "PNG"), "d.png")
    ref = decode_image(_save(Image.fromarray(np.round(v / 257).astype(np.uint8), "L"), "PNG"), "r.png")
    assert up.mode.startswith("I")
    np.testing.assert_array_equal(up.pixels, ref.pixels)
    assert up.pixels.max() > 200 and up.pixels.min() < 50  # Pillow's plain convert would clip to 255


def test_16_bit_rgb_png():
    v = np.zeros((32, 32, 3), np.uint16)
    v[..., 0], v[..., 1], v[..., 2] = 65535, 32896, 257  # 255, 128, 1 in 8 bits
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in v)
    up = decode_image(png_by_hand(32, 32, 16, 2, raw), "d.png")
    assert np.abs(up.pixels.astype(int) - (255, 128, 1)).max() <= 1


def test_animated_gif_uses_the_first_frame():
    up = decode_image(_animated_gif(), "a.gif")
    assert up.frames == 3
    assert np.abs(up.pixels.astype(int) - (250, 0, 0)).max() <= 8


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_exif_rotated_photo_is_shown_upright(fmt):
    a, data = _exif_rotated(fmt)
    up = decode_image(data, "r." + fmt.lower())
    upright = np.rot90(a, k=-1)  # orientation 6: turn 90 degrees clockwise
    assert up.size == (40, 60) and up.preview.shape == upright.shape
    assert np.abs(up.preview.astype(int) - upright).mean() < (0.5 if fmt == "PNG" else 6)
    assert up.preview[5, -5, 0] > 200 and up.preview[-5, 5, 0] < 60  # red moved to the top right


def test_strip_keeps_its_centre():
    up = decode_image({n: d for n, d, _ in ODD}["strip.png"], "strip.png")
    assert np.abs(up.pixels.astype(int) - (0, 180, 0)).max() <= 3
    assert up.size == (10_000, 100)


def test_extension_mismatch_is_said_and_decoded():
    up = decode_image(photo_jpeg(64, 64), "holiday.png")
    assert up.format == "JPEG" and any(".png" in n for n in up.notes)


def test_large_jpeg_is_decoded_at_reduced_scale():
    data = _save(Image.fromarray(photo(2400, 1600)), "JPEG", quality=85)
    up = decode_image(data, "big.jpg")
    assert up.size == (2400, 1600) and max(up.preview.shape) <= 384
    small = decode_image(_save(Image.fromarray(photo(2400, 1600)[:, 400:2000]), "PNG"), "s.png")
    assert np.abs(up.pixels.astype(int) - small.pixels.astype(int)).mean() < 4


def test_ready_pixels_are_wrapped():
    a = np.random.default_rng(0).integers(0, 256, (3, 32, 32), dtype=np.uint8)
    up = Upload.from_pixels(a)
    np.testing.assert_allclose(up.tensor()[0].numpy(), a / 255.0, rtol=1e-6)
    with pytest.raises(ValueError):
        Upload.from_pixels(np.zeros((16, 16, 3), np.uint8))
