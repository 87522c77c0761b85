"""Build skiplab's image from Debian's own packages, where a Docker daemon can run:
`python -m deploy.image build [--tag skiplab:local]`.

1. A base image: `debootstrap --variant=minbase bookworm` (Python's official image may not be reachable), imported
   with `docker import`. The root tarball is kept in the cache folder ($SKIPLAB_DEPLOY_CACHE, else
   ~/.cache/skiplab-deploy), so only a fresh machine pays for debootstrap.
2. deploy/extra/ (ignored by git): certs/ = this machine's extra CA certificates (/usr/local/share/ca-certificates),
   so apt and pip inside the build trust a TLS-inspecting proxy; wheels/ = the CPU torch wheel pip picks here,
   when it is one (a `+cpu` wheel), so the build needs no PyTorch index.
3. `docker build -f deploy/Dockerfile --build-arg BASE=<base>` from the repository's root.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRA = ROOT / "deploy" / "extra"
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
BASE_TAG = f"skiplab-base:{SUITE}-minbase"
CA_FOLDER = Path("/usr/local/share/ca-certificates")


def cache_dir() -> Path:
    return Path(os.environ.get("SKIPLAB_DEPLOY_CACHE") or Path.home() / ".cache" / "skiplab-deploy").expanduser()


def docker(*args, check=True, capture=False, timeout=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], check=check, text=True, capture_output=capture, timeout=timeout,
                          env=dict(os.environ, DOCKER_BUILDKIT="0", **(env or {})))


def daemon_ready() -> bool:
    """A Docker daemon answers at $DOCKER_HOST (or the default socket)."""
    if not shutil.which("docker"):
        return False
    try:
        return docker("info", "--format", "{{.ServerVersion}}", check=False, capture=True, timeout=20).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def start_daemon(log: Path, wait=60.0) -> str | None:
    """Start dockerd in the background (as root, when none answers); None when it runs, else the reason it cannot."""
    if daemon_ready():
        return None
    if os.geteuid() != 0 or not shutil.which("dockerd"):
        return "no Docker daemon answers, and dockerd cannot be started here (not root, or not installed)"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        subprocess.Popen(["dockerd"], stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        if daemon_ready():
            return None
        time.sleep(1)
    return f"dockerd did not answer within {wait:.0f} s (see {log})"


def base_tarball() -> Path:
    """Debian's minimal root file system as a tarball, made once by debootstrap and kept in cache_dir()."""
    tar = cache_dir() / f"debian-{SUITE}-minbase.tar"
    if tar.exists():
        return tar
    tar.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skiplab-rootfs-") as rootfs:
        subprocess.run(["debootstrap", "--variant=minbase", SUITE, rootfs, MIRROR], check=True,
                       stdout=subprocess.DEVNULL)
        partial = tar.with_suffix(".partial")
        subprocess.run(["tar", "-C", rootfs, "-cf", str(partial), "."], check=True)
        partial.replace(tar)  # atomic: a half-written tarball is never taken for a whole one
    return tar


def import_base() -> str:
    """The base image, imported from the tarball unless the daemon already has it."""
    if docker("image", "inspect", BASE_TAG, check=False, capture=True).returncode != 0:
        docker("import", str(base_tarball()), BASE_TAG, capture=True)
    return BASE_TAG


def write_extra() -> dict:
    """deploy/extra/: this machine's extra CA certificates and, when pip picks a CPU torch wheel here, that wheel."""
    shutil.rmtree(EXTRA, ignore_errors=True)
    (EXTRA / "certs").mkdir(parents=True)
    certs = sorted(CA_FOLDER.glob("*.crt")) if CA_FOLDER.is_dir() else []
    for c in certs:
        shutil.copy(c, EXTRA / "certs" / c.name)
    torch_pin = next(line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                     if line.startswith("torch=="))
    wheels = EXTRA / "wheels"
    got = subprocess.run([sys.executable, "-m", "pip", "download", torch_pin, "--no-deps", "-q", "-d", str(wheels)],
                         capture_output=True, text=True)
    cpu = [w for w in wheels.glob("torch-*.whl") if "+cpu" in w.name] if got.returncode == 0 else []
    if not cpu:
        shutil.rmtree(wheels, ignore_errors=True)  # the build takes it from TORCH_INDEX instead
    return {"certs": [c.name for c in certs], "torch_wheel": cpu[0].name if cpu else None}


def build(tag: str, base: str | None = None) -> dict:
    """Build deploy/Dockerfile on `base` (default: the debootstrapped Debian); seconds each stage took."""
    times, t = {}, time.monotonic()
    base = base or import_base()
    times["base"] = time.monotonic() - t
    extra = write_extra()
    args = ["--build-arg", f"BASE={base}"] + (["--build-arg", "TORCH_INDEX="] if extra["torch_wheel"] else [])
    t = time.monotonic()
    try:
        docker("build", "-q", "-f", "deploy/Dockerfile", *args, "-t", tag, str(ROOT), capture=True)
    except subprocess.CalledProcessError as e:
        raise SystemExit(f"docker build failed:\n{(e.stderr or '')[-3000:]}") from None
    finally:
        shutil.rmtree(EXTRA, ignore_errors=True)
    times["build"] = time.monotonic() - t
    return {**times, **extra}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["build"])
    ap.add_argument("--tag", default="skiplab:local")
    ap.add_argument("--base", default=None, help="a base image instead of the debootstrapped Debian")
    args = ap.parse_args()
    if (why := start_daemon(cache_dir() / "dockerd.log")) is not None:
        raise SystemExit(why)
    out = build(args.tag, args.base)
    print(f"built {args.tag}: base image {out['base']:.0f} s, docker build {out['build']:.0f} s; "
          f"CA certificates {out['certs'] or 'none'}; torch wheel {out['torch_wheel'] or 'from TORCH_INDEX'}")


if __name__ == "__main__":
    main()
