"""The few GitHub REST calls the workflows make (a PR comment edited in place, one drift issue per stack), through
the `gh` CLI that GitHub's runners carry, behind an interface the tests replace with an in-memory repository."""

from __future__ import annotations

import json
import subprocess
from typing import Any, Protocol


class GitHubError(RuntimeError):
    pass


class GitHub(Protocol):
    def get(self, path: str) -> list[dict[str, Any]]: ...

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]: ...


class GhCli:
    """`GitHub` on `gh api` (authenticated by GH_TOKEN); lists are read across every page."""

    def _api(self, args: list[str], body: dict[str, Any] | None = None) -> Any:
        done = subprocess.run(["gh", "api", *args, *(["--input", "-"] if body is not None else [])],
                              input=json.dumps(body) if body is not None else None, capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise GitHubError(f"gh api {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
        return json.loads(done.stdout or "null")

    def get(self, path: str) -> list[dict[str, Any]]:
        # --paginate --slurp: one JSON array of pages.
        return [item for page in self._api(["--paginate", "--slurp", path]) for item in page]

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._api(["--method", "POST", path], body)

    def patch(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._api(["--method", "PATCH", path], body)
