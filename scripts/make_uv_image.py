"""Make the local stand-in of uv's image, offline, from the pinned and hash-checked uv wheel.

Dockerfile.optimized takes uv from an image stage (`FROM ${UV_IMAGE} AS uv`), the way uv's own
Docker guide does, instead of installing it with pip in every cold build. Where that image cannot
be pulled (no registry reachable), this script makes one with the same layout from PyPI's wheel:
`/uv` and `/uvx` in an otherwise empty image. The wheel is downloaded with pip's
`--require-hashes` against `backend/uv-requirements.txt`, so the binary is the one pinned there.

    python scripts/make_uv_image.py                 # tag dockyard-local/uv:<pinned version>
    python scripts/make_uv_image.py --tag my/uv:1   # another tag
    UV_IMAGE=dockyard-local/uv:0.13.9 inv build-fast

It builds on the engine the docker CLI points at (DOCKER_HOST / DOCKER_CONTEXT), for that
engine's architecture, and does nothing when the tag is already there (`--force` rebuilds).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REQUIREMENTS = REPO / "backend" / "uv-requirements.txt"
# The wheel platform tag pip downloads for each engine architecture (`docker info`'s name).
PLATFORMS = {"x86_64": "manylinux_2_17_x86_64", "aarch64": "manylinux_2_17_aarch64"}
BINARIES = ("uv", "uvx")


def pinned_version(requirements: Path = REQUIREMENTS) -> str:
    match = re.search(r"^uv==(\S+)", requirements.read_text(encoding="utf-8"), re.M)
    if match is None:
        raise SystemExit(f"no `uv==<version>` line in {requirements}")
    return match[1]


def docker(*args: str, capture: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=capture, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"docker {' '.join(args)} failed: {(done.stderr or '').strip()}")
    return done.stdout or ""


def download_wheel(platform: str, into: Path) -> Path:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--platform", platform, "--require-hashes",
            "-r", str(REQUIREMENTS), "--dest", str(into),
        ],
        check=True,
    )  # fmt: skip
    wheels = sorted(into.glob("uv-*.whl"))
    if not wheels:
        raise SystemExit(f"pip downloaded no uv wheel for {platform}")
    return wheels[0]


def extract_binaries(wheel: Path, into: Path) -> None:
    """The wheel keeps the executables under `uv-<version>.data/scripts/`."""
    with zipfile.ZipFile(wheel) as archive:
        for name in BINARIES:
            member = next(
                (m for m in archive.namelist() if m.endswith(f".data/scripts/{name}")), None
            )
            if member is None:
                raise SystemExit(f"{wheel.name} has no {name} executable")
            target = into / name
            target.write_bytes(archive.read(member))
            target.chmod(0o755)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="", help="image tag (default dockyard-local/uv:<ver>)")
    parser.add_argument("--force", action="store_true", help="rebuild even if the tag exists")
    args = parser.parse_args()
    tag = args.tag or f"dockyard-local/uv:{pinned_version()}"
    exists = (
        subprocess.run(
            ["docker", "image", "inspect", tag], capture_output=True, check=False
        ).returncode
        == 0
    )
    if exists and not args.force:
        print(f"{tag} present")
        return
    arch = docker("info", "--format", "{{.Architecture}}").strip()
    platform = PLATFORMS.get(arch)
    if platform is None:
        raise SystemExit(f"no uv wheel platform known for engine architecture {arch!r}")
    with tempfile.TemporaryDirectory(prefix="dockyard-uv-") as tmp:
        context = Path(tmp)
        extract_binaries(download_wheel(platform, context / "wheel"), context)
        # The layout of uv's own distroless image: the binaries at the root, nothing else.
        (context / "Dockerfile").write_text("FROM scratch\nCOPY uv uvx /\n", encoding="utf-8")
        (context / ".dockerignore").write_text("wheel\n", encoding="utf-8")
        docker("build", "--quiet", "--tag", tag, str(context))
    print(f"built {tag} from the hash-checked uv wheel ({platform})")


if __name__ == "__main__":
    main()
