"""Content-addressed build artifacts: the same sources always give the same bytes and the same key.

A deploy uploads new keys and points the job at them; old keys stay, so a rollback is a pointer change.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

# The package every job script imports from; `jobs/common` is the library shared by all jobs.
JOBS_PACKAGE = "jobs"
SHARED_LIBRARY = "common"
# A fixed timestamp (the earliest a zip can hold) makes the archive depend on file contents only.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    path: Path
    digest: str

    def key(self, folder: str) -> str:
        """S3 key carrying the content hash (the file name holds it), e.g. `glue/orders/lib/orders-3f2a….zip`."""
        return f"{folder}/{self.path.name}"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def library_sources(jobs_dir: Path, job: str) -> list[Path]:
    """The package files one job needs at run time: `jobs/__init__.py`, the shared library and the job."""
    files = [jobs_dir / "__init__.py"]
    for folder in (jobs_dir / SHARED_LIBRARY, jobs_dir / job):
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
    return Artifact(path=path, digest=content_digest)


def job_script(jobs_dir: Path, job: str, entrypoint: str, build_dir: Path) -> Artifact:
    return write_once(build_dir / job, Path(entrypoint).stem, ".py", (jobs_dir / job / entrypoint).read_bytes())


def job_library(jobs_dir: Path, job: str, build_dir: Path) -> Artifact:
    data = deterministic_zip(library_sources(jobs_dir, job), jobs_dir, JOBS_PACKAGE)
    return write_once(build_dir / job, job, ".zip", data)
