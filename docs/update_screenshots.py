"""Copy the browser tests' page screenshots into docs/screenshots/, small enough for the repository.

    python -m pytest tests/e2e/test_pages_screens.py -q   # takes artifacts/screenshots/page-*.png
    python docs/update_screenshots.py                      # -> docs/screenshots/page-*.png

Each picture loses the empty band below the page's content, is shrunk to --width pixels wide (Lanczos)
and saved as a palette PNG (256 colours, then fewer, then narrower, until it fits under --max-kb), so
each page keeps one stable file name for the README. Prints one line per picture: pixels and kilobytes.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "artifacts" / "screenshots"
DST = ROOT / "docs" / "screenshots"


def trim_bottom(im: Image.Image, margin: int = 40) -> Image.Image:
    """Cut the blank rows below the last content of the main area (the right three quarters), keeping a margin."""
    a = np.asarray(im.convert("L"))[:, im.width // 4:]
    rows = np.flatnonzero((a < 250).any(axis=1))
    if not len(rows):
        return im
    return im.crop((0, 0, im.width, min(im.height, int(rows[-1]) + margin)))


def shrink(src: Path, dst: Path, width: int, max_bytes: int) -> Path:
    """Save a small palette-PNG copy of src at dst: fewer colours, then a narrower picture, until it fits."""
    im = trim_bottom(Image.open(src).convert("RGB"))
    while True:
        small = im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS) if im.width > width else im
        for colors in (256, 128, 64):
            small.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(dst, optimize=True)
            if dst.stat().st_size <= max_bytes:
                return dst
        if width <= 600:  # narrower than this nobody can read it: keep it, the caller reports the size
            return dst
        width = int(width * 0.9)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=SRC)
    ap.add_argument("--dst", type=Path, default=DST)
    ap.add_argument("--width", type=int, default=1000, help="width in pixels (default 1000)")
    ap.add_argument("--max-kb", type=int, default=150, help="size limit per picture in KB (default 150)")
    args = ap.parse_args(argv)
    shots = sorted(args.src.glob("page-*.png"))
    if not shots:
        print(f"no page-*.png in {args.src}: run python -m pytest tests/e2e/test_pages_screens.py first",
              file=sys.stderr)
        return 1
    args.dst.mkdir(parents=True, exist_ok=True)
    over = 0
    for src in shots:
        out = shrink(src, args.dst / src.name, args.width, args.max_kb * 1000)
        kb = out.stat().st_size / 1000
        over += kb > args.max_kb
        with Image.open(out) as im:
            print(f"{out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}  {im.width} x {im.height}  {kb:.0f} KB"
                  + ("  OVER THE LIMIT" if kb > args.max_kb else ""))
    stale = sorted({p.stem for p in args.dst.glob("page-*")} - {p.stem for p in shots})
    if stale:
        print(f"in {args.dst} but not taken by the tests (delete them if the page is gone): {', '.join(stale)}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
