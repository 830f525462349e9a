"""One GitHub issue per drifted stack, kept up to date by the nightly drift workflow: opened (or updated) while
the stack drifts, closed with a comment when it is clean again. A check that could not run changes nothing."""

from __future__ import annotations

from .drift import EXIT_CLEAN, EXIT_DRIFT
from .github import GitHub

LABEL = "drift"


def title(stack: str) -> str:
    return f"Drift in stack {stack}"


def sync_issue(github: GitHub, repo: str, stack: str, exit_code: int, report_markdown: str, run_url: str = "") -> str:
    """'opened', 'updated', 'closed' or 'unchanged'."""
    if exit_code not in (EXIT_CLEAN, EXIT_DRIFT):
        return "unchanged"  # not checked: neither claim drift nor clear it
    issues = [i for i in github.get(f"repos/{repo}/issues?state=open&labels={LABEL}&per_page=100")
              if i.get("title") == title(stack) and "pull_request" not in i]
    body = report_markdown + (f"\n\nLast checked: {run_url}\n" if run_url else "")
    if exit_code == EXIT_DRIFT:
        if issues:
            github.patch(f"repos/{repo}/issues/{issues[0]['number']}", {"body": body})
            return "updated"
        github.post(f"repos/{repo}/issues", {"title": title(stack), "body": body, "labels": [LABEL]})
        return "opened"
    for issue in issues:
        github.post(f"repos/{repo}/issues/{issue['number']}/comments",
                    {"body": f"No drift any more: the stack matches its state.{' ' + run_url if run_url else ''}"})
        github.patch(f"repos/{repo}/issues/{issue['number']}", {"state": "closed", "state_reason": "completed"})
    return "closed" if issues else "unchanged"
