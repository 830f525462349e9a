"""Content-addressed build artifacts: the same sources always give the same bytes and the same key.

A deploy uploads new keys and points the job at them; old keys stay, so a rollback is a pointer change.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Library shared by all jobs (`jobs/common`) and by all Lambda handlers (`functions/shared`).
JOBS_SHARED = "common"
FUNCTIONS_SHARED = "shared"
# The release controller tags the artifacts no retained pipeline version runs any more; the artifacts bucket's
# lifecycle expires tagged objects after a day.
RETIRED_TAG = ("release-retired", "true")
RETIRED_EXPIRATION_DAYS = 1
# A fixed timestamp (the earliest a zip can hold) makes the archive depend on file contents only.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    path: Path
    digest: str
    # What Lambda reports as CodeSha256: an unchanged package is not redeployed.
    sha256_base64: str

    def key(self, folder: str) -> str:
        """S3 key carrying the content hash (the file name holds it), e.g. `glue/orders/lib/orders-3f2a….zip`."""
        return f"{folder}/{self.path.name}"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def package_sources(root: Path, shared: str, member: str) -> list[Path]:
    """The files one job or function needs at run time: the package's `__init__`, its shared library, itself."""
    files = [root / "__init__.py"]
    for folder in (root / shared, root / member):
        files.extend(sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts))
    return files


def deterministic_zip(files: list[Path], root: Path, arc_prefix: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{arc_prefix}/{path.relative_to(root).as_posix()}", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def write_once(build_dir: Path, name: str, suffix: str, data: bytes) -> Artifact:
    """Write `data` to `<build_dir>/<name>-<digest><suffix>` unless an identical file is already there."""
    content_digest = digest(data)
    path = build_dir / f"{name}-{content_digest}{suffix}"
    if not path.exists():
        build_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return Artifact(path=path, digest=content_digest,
                    sha256_base64=base64.b64encode(hashlib.sha256(data).digest()).decode())


def job_script(jobs_dir: Path, job: str, entrypoint: str, build_dir: Path) -> Artifact:
    return write_once(build_dir / job, Path(entrypoint).stem, ".py", (jobs_dir / job / entrypoint).read_bytes())


def package(root: Path, shared: str, member: str, build_dir: Path) -> Artifact:
    """Zip of `<root>/__init__.py`, `<root>/<shared>/` and `<root>/<member>/`, importable as `<root.name>.…`."""
    data = deterministic_zip(package_sources(root, shared, member), root, root.name)
    return write_once(build_dir / member, member, ".zip", data)


def job_library(jobs_dir: Path, job: str, build_dir: Path) -> Artifact:
    return package(jobs_dir, JOBS_SHARED, job, build_dir)


def function_package(functions_dir: Path, function: str, build_dir: Path) -> Artifact:
    return package(functions_dir, FUNCTIONS_SHARED, function, build_dir)
