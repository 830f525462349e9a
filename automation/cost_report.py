"""An estimate as JSON and as a table, and the difference between two estimates of a stack (base and head)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stack_files import shown

if TYPE_CHECKING:  # the model (the program harness under it) loads only for a cost command
    from .cost_model import Estimate

# A line whose monthly cost moves by less than half a cent has not moved.
MOVED_USD = 0.005


def to_dict(estimate: Estimate) -> dict[str, Any]:
    a = estimate.assumptions
    return {
        "stack": estimate.stack, "region": estimate.region, "prices_taken": estimate.prices_taken,
        "total_usd": estimate.total,
        "lines": [{"key": line.key, "title": line.title, "unit": line.unit, "price": line.price,
                   "unit_usd": line.unit_usd, "quantity": line.quantity, "usd": line.usd, "basis": line.basis,
                   "parts": [{"subject": p.subject, "quantity": p.quantity, "usd": p.usd} for p in line.parts]}
                  for line in estimate.lines],
        "assumptions": {"file": shown(a.path), "stack": a.stack, "jobs": a.job_overrides},
        "large_increase": a.large_increase,
        "runs_a_month": estimate.runs, "free": estimate.free, "not_priced": estimate.not_priced,
        "notes": estimate.notes,
    }


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.3g}"


def usd(value: float) -> str:
    """Dollars to the cent; a charge under half a cent is not shown as nothing."""
    return "<0.01" if 0 < abs(value) < 0.005 else f"{value:,.2f}"


def format_table(report: dict[str, Any]) -> str:
    lines = [f"Monthly estimate of stack {report['stack']}: ${report['total_usd']:,.2f} "
             f"({report['region']} list prices of {report['prices_taken']}, no free tier)",
             f"  {'line':<36} {'quantity':>12} {'unit':<16} {'USD a month':>11}"]
    for line in report["lines"]:
        lines.append(f"  {line['title']:<36} {_number(line['quantity']):>12} {line['unit']:<16} "
                     f"{usd(line['usd']):>11}")
    lines.append("Pipeline runs a month (schedule and extraRunsPerMonth): "
                 + ", ".join(f"{job} {runs:.1f}" for job, runs in report["runs_a_month"].items()))
    assumed = report["assumptions"]
    lines.append(f"Assumptions ({assumed['file']}): "
                 + ", ".join(f"{key}={value:g}" for key, value in assumed["stack"].items()))
    lines += [f"  job {job}: " + ", ".join(f"{key}={value:g}" for key, value in values.items())
              for job, values in sorted(assumed["jobs"].items())]
    lines.append(f"Free (no charge of their own): {sum(report['free'].values())} resource(s) of "
                 f"{len(report['free'])} type(s)")
    lines.append("Not priced: " + (", ".join(f"{t} x{n}" for t, n in sorted(report["not_priced"].items()))
                                   or "none"))
    lines += [f"Note: {note}" for note in report["notes"]]
    return "\n".join(lines)


def diff(before: dict[str, Any] | None, after: dict[str, Any], base: str) -> dict[str, Any]:
    """Head against base for one stack; `before` is None when the stack did not exist at base."""
    old = {line["key"]: line for line in (before or {}).get("lines", [])}
    new = {line["key"]: line for line in after["lines"]}
    moved = []
    for key in [*new, *(k for k in old if k not in new)]:
        was, now = old.get(key, {}).get("usd", 0.0), new.get(key, {}).get("usd", 0.0)
        if abs(now - was) >= MOVED_USD:
            moved.append({"key": key, "title": (new.get(key) or old[key])["title"], "before_usd": was,
                          "after_usd": now, "change_usd": now - was})
    before_usd = (before or {}).get("total_usd", 0.0)
    change = after["total_usd"] - before_usd
    percent = change / before_usd * 100 if before_usd else None
    threshold = after["large_increase"]
    large = change >= threshold["usd"] and (percent is None or percent >= threshold["percent"])
    return {"stack": after["stack"], "base": base, "new_stack": before is None, "before_usd": before_usd,
            "after_usd": after["total_usd"], "change_usd": change, "change_percent": percent, "moved": moved,
            "large_increase": large, "threshold": threshold, "not_priced": after["not_priced"]}


def format_diff(change: dict[str, Any]) -> str:
    percent = "" if change["change_percent"] is None else f" ({change['change_percent']:+.1f}%)"
    lines = [f"Stack {change['stack']}: ${change['before_usd']:,.2f} at {change['base']}"
             + (" (no such stack there)" if change["new_stack"] else "")
             + f" -> ${change['after_usd']:,.2f} a month, {change['change_usd']:+,.2f}{percent}"
             + ("  LARGE INCREASE" if change["large_increase"] else "")]
    lines += [f"  {m['title']:<36} {m['before_usd']:>10,.2f} -> {m['after_usd']:>10,.2f} ({m['change_usd']:+,.2f})"
              for m in change["moved"]]
    return "\n".join(lines)
