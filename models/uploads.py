"""User images -> what the model sees: decoded by Pillow with a format allow-list and a pixel limit.

Nothing a user uploads is ever unpickled or handed to anything but Pillow's decoders for
PNG, JPEG, WebP, BMP and GIF. The size in the header is checked before a single pixel is decoded
(a decompression bomb is a tiny file that declares a huge image). Every refusal is a `ValueError`
whose message a student can act on; every silent-looking conversion (grayscale, transparency,
CMYK, 16 bits, animation, EXIF rotation, a very long strip) is reported in `Upload.notes`.

Resizing choice: the largest centred square is cropped, then resized to 32 x 32. The models were
trained on full-frame 32 x 32 images with the object filling the frame and no borders; padding a
non-square photo would add bars the model never saw and shrink the object, while a centre crop keeps
the object's scale close to training. The price is that the edges of a non-square image are cut:
the page draws the crop box on the original so the user sees exactly what was kept.
"""

import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")  # the allow-list, as Pillow names them
EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "gif")
MAX_PIXELS = 50_000_000  # 50 megapixels: above any phone photo, far below a decompression bomb
MAX_BYTES = 30 * 2**20  # 30 MiB
MIN_SIDE = 8  # smaller images carry no picture worth 32 x 32 pixels
SIZE = 32  # the models' input side
PREVIEW = 384  # longest side of the preview shown beside the model's view
ALLOWED = "PNG, JPEG, WebP, BMP or GIF"

_MAGIC = (  # formats we recognise only to name them in the refusal
    (b"%PDF", "a PDF document"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"8BPS", "a Photoshop (PSD) file"),
    (b"\x00\x00\x01\x00", "a Windows icon (ICO)"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document)"),
    (b"\x80", "a Python pickle or other binary data"),
)


@dataclass(frozen=True)
class Upload:
    """A decoded image. pixels: (32, 32, 3) uint8, what the model sees; preview: (h, w, 3) uint8,
    the upright original shrunk to at most PREVIEW px; crop_box: (x0, y0, x1, y1) of the kept square
    in preview coordinates; size: the upright original (width, height); notes: what was changed."""

    pixels: np.ndarray
    preview: np.ndarray
    crop_box: tuple
    format: str
    mode: str
    size: tuple
    frames: int = 1
    notes: tuple = ()

    def tensor(self) -> torch.Tensor:
        """(1, 3, 32, 32) float in [0, 1]: the model's input."""
        return torch.from_numpy(self.pixels).permute(2, 0, 1).float().div(255).unsqueeze(0)

    @classmethod
    def from_pixels(cls, pixels: np.ndarray, source: str = "gallery") -> "Upload":
        """Wrap a ready 32 x 32 image, (32, 32, 3) or (3, 32, 32) uint8 (e.g. a shapes test image)."""
        p = np.asarray(pixels)
        p = p.transpose(1, 2, 0) if p.shape[0] == 3 and p.shape[-1] != 3 else p
        if p.shape != (SIZE, SIZE, 3) or p.dtype != np.uint8:
            raise ValueError(f"a ready image must be 32 x 32 RGB uint8, got {p.shape} {p.dtype}.")
        p = np.ascontiguousarray(p)
        return cls(p, p, (0, 0, SIZE, SIZE), source, "RGB", (SIZE, SIZE))


def _refusal(data: bytes, name: str) -> str:
    """A sentence saying what a file that is none of the allowed formats is."""
    head = data[:2048]
    said = f" (the name says .{name.rsplit('.', 1)[-1].lower()})" if "." in name else ""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<") and b"<svg" in text:
        return (f"This is an SVG drawing{said}: vector XML, which skiplab does not render. "
                f"Export it as a PNG and upload that.")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"This is {what}{said}, not an image skiplab reads. Upload a {ALLOWED} image."
    if head[4:8] == b"ftyp":
        return f"This is a HEIC/AVIF/MP4-family file{said}; skiplab reads {ALLOWED}. Convert it first."
    try:
        head.decode("utf-8")
        is_text = all(c >= 32 or c in b"\t\r\n" for c in head)
    except UnicodeDecodeError:
        is_text = False
    if is_text:
        return f"This file is text, not an image{said}. Upload a {ALLOWED} image."
    return f"This file is not a {ALLOWED} image{said}: its content matches none of them."


def _to_rgb(im: Image.Image, notes: list) -> Image.Image:
    """Any Pillow mode -> RGB (8 bits), saying what was done."""
    mode = im.mode
    if mode.startswith("I"):  # 16-bit ("I;16", "I;16B") or 32-bit integer grayscale
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if a.max(initial=0) <= 65535 else float(a.max())
        notes.append(f"{'16-bit' if mode.startswith('I;16') else '32-bit integer'} grayscale: "
                     f"scaled to 8 bits (0..{top:.0f} -> 0..255) and copied to R, G and B.")
        im = Image.fromarray(np.round(np.clip(a, 0, None) / top * 255).astype(np.uint8), "L")
        return im.convert("RGB")
    if mode == "F":
        a = np.asarray(im).astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        notes.append(f"floating-point grayscale: stretched from [{lo:.3g}, {hi:.3g}] to 0..255.")
        a = (a - lo) / (hi - lo) if hi > lo else a * 0
        return Image.fromarray(np.round(a * 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or (mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        alpha = np.asarray(rgba)[..., 3]
        clear = float((alpha < 255).mean())
        what = "palette image with a transparent colour" if mode == "P" else f"{mode} image with transparency"
        if clear > 0:
            notes.append(f"{what}: the {clear:.0%} of pixels that are (partly) transparent were put on white.")
        else:
            notes.append(f"{what}: every pixel is opaque, so the alpha channel was dropped.")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in ("L", "1"):
        notes.append(("black-and-white (1-bit)" if mode == "1" else "grayscale") + ": copied to R, G and B.")
    elif mode == "CMYK":
        notes.append("CMYK (print colours): converted to RGB without a colour profile, so colours may be slightly off.")
    elif mode == "P":
        notes.append("palette image (at most 256 colours): converted to RGB.")
    elif mode != "RGB":
        notes.append(f"{mode} pixels: converted to RGB.")
    return im.convert("RGB")


def _open_header(data: bytes, name: str, max_bytes: int) -> Image.Image:
    """The image's header only (Pillow, allowed formats); a ValueError a student can act on for anything else."""
    if not data:
        raise ValueError("The file is empty (0 bytes): there is no image in it.")
    if len(data) > max_bytes:
        raise ValueError(f"The file is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB.")
    try:
        with warnings.catch_warnings(record=True):  # Pillow's own bomb warning: we check a lower limit below
            return Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header only
    except UnidentifiedImageError:
        raise ValueError(_refusal(data, name)) from None
    except Image.DecompressionBombError:
        raise ValueError(
            f"The image declares more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} million pixels in a "
            f"{len(data)}-byte file: a decompression bomb. It was not decoded."
        ) from None
    except Exception as e:  # noqa: BLE001 (any decoder failure becomes a clear ValueError)
        raise ValueError(f"The file claims to be an image but its header is damaged ({type(e).__name__}: {e}).") from None


def _decoded_upright(im, fmt: str, frames: int, notes: list):
    """Decode the pixels (the first frame; a big JPEG at a reduced scale) and turn them upright by their EXIF
    orientation, noting what was done: (image, EXIF orientation tag). ValueError for a damaged file."""
    try:
        if frames > 1:
            im.seek(0)
            notes.append(f"Animated {fmt} with {frames} frames: only the first frame is used.")
        if fmt == "JPEG":  # decode at a reduced scale (1/2..1/8) when the photo is much bigger than we need
            im.draft("RGB", (PREVIEW, PREVIEW))
        im.load()
    except Exception as e:  # noqa: BLE001 (any decoder failure becomes a clear ValueError)
        raise ValueError(
            f"The {fmt} file is damaged or truncated: Pillow could not decode its pixels ({type(e).__name__}: {e})."
        ) from None
    try:
        orientation = int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 (any decoder failure becomes a clear ValueError)
        orientation = 1
    if orientation not in (1, 0):
        try:
            im = ImageOps.exif_transpose(im)
            notes.append(f"Turned upright using the photo's EXIF orientation (tag {orientation}).")
        except Exception:  # noqa: BLE001 (any decoder failure becomes a clear ValueError)
            notes.append(f"The photo's EXIF orientation (tag {orientation}) could not be applied; shown as stored.")
    return im, orientation


def decode_image(data: bytes, name: str = "", *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES) -> Upload:
    """Decode an uploaded file into the model's 32 x 32 RGB view.

    Args:
        data: the file's bytes.
        name: the file's name, used only in messages.
        max_pixels: refuse images whose header declares more pixels (checked before decoding).
        max_bytes: refuse larger files.
    Returns:
        Upload with pixels (32, 32, 3) uint8 (centre square, resized), an upright preview and notes.
    Raises:
        ValueError with a sentence for the user: empty, too big, not an allowed format, damaged or
        truncated, too many pixels, too small.
    """
    im = _open_header(data, name, max_bytes)
    fmt, mode, (w, h) = im.format, im.mode, im.size
    if w * h > max_pixels:
        raise ValueError(
            f"The image is {w} x {h} = {w * h / 1e6:.0f} megapixels; the limit is {max_pixels / 1e6:.0f} megapixels "
            "(a guard against decompression bombs). Shrink it and upload again."
        )
    if min(w, h) < MIN_SIDE:
        raise ValueError(f"The image is only {w} x {h} pixels; it needs at least {MIN_SIDE} pixels on each side.")
    notes = []
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext and ext in EXTENSIONS and {"jpg": "jpeg"}.get(ext, ext) != fmt.lower():
        notes.append(f"The name says .{ext} but the content is {fmt}; decoded as {fmt}.")
    frames = int(getattr(im, "n_frames", 1) or 1)
    im, orientation = _decoded_upright(im, fmt, frames, notes)
    rgb = _to_rgb(im, notes)
    W, H = rgb.size  # decoded size (a big JPEG is decoded at 1/2..1/8 scale)
    ow, oh = (h, w) if orientation in (5, 6, 7, 8) else (w, h)  # the upright original
    side = min(W, H)
    box = ((W - side) // 2, (H - side) // 2, (W - side) // 2 + side, (H - side) // 2 + side)
    if W != H:
        kept = side / max(W, H)
        notes.append(
            f"Not square ({ow} x {oh}): the centred {min(ow, oh)} x {min(ow, oh)} square ({kept:.0%} of the "
            f"{'width' if W > H else 'height'}) is used." + (" The image is a long strip, so most of it is cut."
                                                               if kept < 0.25 else "")
        )
    pixels = rgb.crop(box).resize((SIZE, SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    s = min(1.0, PREVIEW / max(W, H))
    pw, ph = max(1, round(W * s)), max(1, round(H * s))
    preview = rgb.resize((pw, ph), Image.Resampling.LANCZOS, reducing_gap=3.0) if s < 1 else rgb
    pbox = tuple(round(v * s) for v in box)
    return Upload(
        np.asarray(pixels, dtype=np.uint8).copy(), np.asarray(preview, dtype=np.uint8).copy(), pbox, fmt, mode,
        (ow, oh), frames, tuple(n[0].upper() + n[1:] for n in notes),
    )
