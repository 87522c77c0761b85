"""The zoo's command line (`python -m models.zoo ...` runs this module; so does `python -m models.zoo_cli ...`).

    python -m models.zoo readme                     # models/weights/README.md from the shipped cards
    python -m models.zoo import PATH [--name NAME] [--zoo DIR] [--residual | --plain] [--pad end|both]
                                     [--downsample subsample|average] [--normalisation PRESET] [--no-full-test]

`import` reads a CIFAR ResNet checkpoint by its structure (models/imports.py), prints which source module went where
and the readings it measured, then saves the best one into the zoo (the user zoo unless --zoo). A choice given here
is not measured. Exit status 0 when imported, 2 when refused (the sentence on stderr; nothing written).
"""

import argparse
import sys
import time
from pathlib import Path

from models import imports, zoo
from models.readings import FILE, NORMALISATIONS


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m models.zoo", description="The model zoo: `readme` prints "
                                 "models/weights/README.md; `import PATH` converts a CIFAR ResNet checkpoint into it.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("readme", help="print models/weights/README.md from the shipped cards")
    imp = sub.add_parser("import", help="import a CIFAR ResNet checkpoint (.safetensors, .th, .pt, .pth)")
    imp.add_argument("path")
    imp.add_argument("--name", default=None, help="zoo name (default e.g. cifar10-resnet20-imported-1a2b3c4d)")
    imp.add_argument("--zoo", default=None, help=f"target folder (default the user zoo, {zoo.user_dir()})")
    skip = imp.add_mutually_exclusive_group()
    skip.add_argument("--residual", dest="skip", action="store_const", const=True, help="read it as a residual net")
    skip.add_argument("--plain", dest="skip", action="store_const", const=False, help="read it as a plain net")
    imp.add_argument("--pad", choices=["end", "both"], help="option A's zero channels: at the end or on both sides")
    imp.add_argument("--downsample", choices=["subsample", "average"], help="option A's halving of the resolution")
    imp.add_argument("--normalisation", choices=[*NORMALISATIONS, FILE], help="the input normalisation preset")
    imp.add_argument("--no-full-test", action="store_true", help="measure on the shipped sample only")
    return ap


def report(analysis) -> str:
    """The mapping (source -> skiplab) and the readings measured, as text."""
    width = max(len(src) for src, _, _ in analysis.mapping)
    lines = ["mapping (source -> skiplab):"]
    lines += [f"  {src:<{width}} -> {dst}" + (f"  ({note})" if note else "") for src, dst, note in analysis.mapping]
    if analysis.trials:
        lines.append("readings measured (best first):")
        shortcut = analysis.model.config.shortcut
        lines += [f"  {t.accuracy:6.1%} on {t.images:3d} images, loss {t.loss:.3f}, norm statistics off by "
                  f"{t.mismatch:.3f}: {t.reading.words(shortcut)}" for t in analysis.trials]
    return "\n".join(lines + [analysis.sentence])


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    a = parser().parse_args(argv)
    if a.cmd == "readme":
        print(zoo.shipped_readme(), end="")
        return 0
    t = time.perf_counter()
    reading = {"skip": a.skip, "pad": a.pad, "downsample": a.downsample, "normalisation": a.normalisation}
    try:
        analysis = imports.analyse(imports.read_file(a.path), Path(a.path).name, **reading)
        print(report(analysis))
        c = imports.save(analysis, a.name, a.zoo, full_test=False if a.no_full_test else None)
    except ValueError as e:
        print(f"not imported: {e}", file=sys.stderr)
        return 2
    folder = Path(a.zoo) if a.zoo else zoo.user_dir()
    acc = f"{c['sample_acc']:.2%} on {c['sample_images']} sample images" if "sample_acc" in c else "not measured"
    if c.get("test_acc") is not None:
        acc += f", {c['test_acc']:.2%} on {c['test_split']}"
    print(f"imported {c['source_file']} as {c['name']} into {folder}: accuracy {acc}; {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
