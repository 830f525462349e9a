"""The release controller: deploy, verify the new pipeline versions, move the `live` aliases by the stack's
strategy, watch a canary and roll it back on its own, prune old versions. Also rollback and status.

A release of a stack covers all its pipelines (one state machine per Glue job) together. The alias routing and
the release history (kept in the alias's description) belong to this controller: the program creates each
alias once and ignores both afterwards, so `pulumi up` never undoes a rollback.

Exit codes: 0 released (or nothing to release), 1 verification failed, the canary was rolled back or alarms
were already firing (the aliases are where they were), 2 the deploy failed or the command was misused.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from .phases import PhaseFailed, run_phase
from .progress import Progress
from .release_client import ReleaseClient, ReleaseError, Route, VersionInfo, machine_of, version_number
from .report import Phase

EXIT_RELEASED, EXIT_NOT_RELEASED, EXIT_DEPLOY_FAILED = 0, 1, 2
RELEASE_PHASES = ("deploy", "verify", "shift", "bake", "prune")
STRATEGIES = ("all-at-once", "verify-then-switch", "canary")
# AWS's guidance for a gradual rollout of state machine versions: look at the alarms about once a minute.
BAKE_POLL_SECONDS = 60.0
DESCRIPTION_LIMIT = 256
HISTORY_KEPT = 20


@dataclass(frozen=True)
class AliasHistory:
    """What the controller writes into an alias's description: the stable version, the versions that were
    live before it (newest first), and the last action. `live` is the stable version also during a canary."""

    live: int
    earlier: tuple[int, ...] = ()
    note: str = ""

    def describe(self) -> str:
        earlier = list(self.earlier[:HISTORY_KEPT])
        while True:
            text = f"live v{self.live}; earlier {','.join(map(str, earlier)) or '-'}; {self.note}"
            if len(text) <= DESCRIPTION_LIMIT or not earlier:
                return text[:DESCRIPTION_LIMIT]
            earlier.pop()

    @classmethod
    def parse(cls, description: str) -> AliasHistory | None:
        match = re.match(r"^live v(\d+); earlier ([\d,]+|-); ?(.*)$", description or "", re.DOTALL)
        if not match:
            return None
        earlier = () if match.group(2) == "-" else tuple(int(v) for v in match.group(2).split(",") if v)
        return cls(live=int(match.group(1)), earlier=earlier, note=match.group(3))


def version_arn(machine_arn: str, number: int) -> str:
    return f"{machine_arn}:{number}"


def history_of(alias_description: str, routes: tuple[Route, ...]) -> AliasHistory:
    """The alias's history; an alias the controller never moved routes all to its first version."""
    return AliasHistory.parse(alias_description) or AliasHistory(
        live=version_number(max(routes, key=lambda r: r.weight).version_arn), note="created by the program")


def now_utc() -> datetime:
    return datetime.now(UTC)


class ReleaseStack(Protocol):
    """What a release needs of the engine (tests inject their own)."""

    name: str

    def deploy(self, on_output: Callable[[str], None]) -> None: ...

    def outputs(self) -> dict[str, Any]: ...


# verify(stack outputs, job, version ARN) runs the health check on that version and returns its result, or raises.
Verify = Callable[[Mapping[str, Any], str, str], dict]


@dataclass
class PipelineRelease:
    job: str
    alias_arn: str = ""
    previous_version: str = ""
    new_version: str = ""
    status: str = "pending"  # unchanged | verified | verification failed | live | canary | rolled back
    verification: dict = field(default_factory=dict)
    error: str = ""
    # Main's snapshot of the job's table when the new version was verified: where `data-rollback --snapshot` takes
    # the data back to if this release is undone (None: not verified, or the table was empty).
    table_snapshot: int | None = None


@dataclass
class ReleaseReport:
    stack: str
    commit: str = ""
    actor: str = ""
    strategy: str = ""
    canary_percent: int = 0
    canary_bake_minutes: int = 0
    phases: dict[str, Phase] = field(default_factory=lambda: {name: Phase(name) for name in RELEASE_PHASES})
    pipelines: dict[str, PipelineRelease] = field(default_factory=dict)
    outcome: str = "running"  # released | unchanged | verification failed | rolled back | blocked | failed
    exit_code: int = EXIT_RELEASED
    failure: str = ""
    pruned_versions: list[str] = field(default_factory=list)
    retired_artifacts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    def to_markdown(self) -> str:
        icon = {"released": "✅", "unchanged": "➖", "rolled back": "↩️"}.get(self.outcome, "❌")
        lines = [f"### {icon} Release of `{self.stack}` from {self.commit[:12] or 'unknown commit'}: {self.outcome}",
                 "", f"Strategy: **{self.strategy}**"
                 + (f" ({self.canary_percent} % for {self.canary_bake_minutes} min)" if self.strategy == "canary"
                    else "") + (f", by {self.actor}" if self.actor else ""), "",
                 "| phase | status | seconds |", "| --- | --- | ---: |"]
        lines += [f"| {p.name} | {p.status} | {p.seconds:.1f} |" for p in self.phases.values()]
        lines += ["", "| pipeline | was live | new version | status | table snapshot |",
                  "| --- | --- | --- | --- | --- |"]
        for p in self.pipelines.values():
            lines.append(f"| {p.job} | {_short(p.previous_version)} | {_short(p.new_version)} | {p.status}"
                         + (f": {p.error}" if p.error else "") + f" | {_snapshot(p.table_snapshot)} |")
        recorded = [p for p in self.pipelines.values() if p.table_snapshot is not None]
        if recorded:
            lines += ["", "To undo this release's data too: "
                      + "; ".join(f"`python -m automation data-rollback --stack {self.stack} --job {p.job} "
                                  f"--snapshot {p.table_snapshot}`" for p in recorded)]
        if self.failure:
            lines += ["", f"**Failure:** {self.failure}"]
        if self.pruned_versions:
            lines += ["", f"Pruned {len(self.pruned_versions)} old version(s): "
                          + ", ".join(_short(v) for v in self.pruned_versions)]
        lines += [f"- ⚠️ {w}" for w in self.warnings]
        return "\n".join(lines) + "\n"


def _snapshot(snapshot_id: int | None) -> str:
    return "—" if snapshot_id is None else str(snapshot_id)


def _short(version: str) -> str:
    """`orders-pipeline:7` for a version ARN."""
    return version.rsplit(":", 2)[-2].removeprefix("data-pipeline-") + ":" + version.rsplit(":", 1)[-1] \
        if version else "—"


@dataclass
class ReleaseController:
    client: ReleaseClient
    verify: Verify
    progress: Progress
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = now_utc
    poll_seconds: float = BAKE_POLL_SECONDS

    def release(self, stack: ReleaseStack, report: ReleaseReport) -> ReleaseReport:
        phases = report.phases
        try:
            run_phase(phases["deploy"], lambda: stack.deploy(self.progress.engine), self.progress, self.clock)
            outputs = stack.outputs()
            settings = _release_settings(outputs)
        except (PhaseFailed, ReleaseError) as error:
            report.outcome, report.exit_code, report.failure = "failed", EXIT_DEPLOY_FAILED, str(error)
            return report
        report.strategy = settings["strategy"]
        report.canary_percent, report.canary_bake_minutes = settings["canary_percent"], settings["canary_bake_minutes"]
        pending = self._plan(outputs, report)
        if not pending:
            report.outcome = "unchanged"
        else:
            self._roll_out(pending, outputs, settings, report)
        try:
            run_phase(phases["prune"], lambda: self._prune(outputs, settings, report), self.progress, self.clock)
        except PhaseFailed as error:  # old versions stay a little longer; the release itself stands
            report.warnings.append(f"{error}; old versions are pruned by the next release")
        return report

    def _plan(self, outputs: Mapping[str, Any], report: ReleaseReport) -> list[PipelineRelease]:
        """Each pipeline's alias state; those whose live alias does not yet route all to the new version."""
        pending = []
        for job, alias_arn in sorted(outputs["pipeline_aliases"].items()):
            new = outputs["pipeline_versions"][job]
            alias = self.client.alias(alias_arn)
            pipeline = PipelineRelease(job=job, alias_arn=alias_arn, new_version=new,
                                       previous_version=alias.main_version)
            report.pipelines[job] = pipeline
            if alias.routes == (Route(new, 100),):
                pipeline.status = "unchanged"
            else:
                pending.append(pipeline)
        return pending

    def _roll_out(self, pending: list[PipelineRelease], outputs: Mapping[str, Any], settings: Mapping[str, Any],
                  report: ReleaseReport) -> None:
        phases, strategy = report.phases, settings["strategy"]
        if strategy != "all-at-once":
            try:
                run_phase(phases["verify"], lambda: self._verify(outputs, pending), self.progress, self.clock)
            except PhaseFailed as error:
                report.outcome, report.exit_code, report.failure = "verification failed", EXIT_NOT_RELEASED, (
                    f"{error}; the live aliases were not moved")
                return
        if strategy == "canary":
            firing = self.client.firing_alarms(list(outputs.get("alarm_names") or []))
            if firing:
                report.outcome, report.exit_code = "blocked", EXIT_NOT_RELEASED
                report.failure = (f"alarms already in ALARM before the canary: {', '.join(firing)}; a canary could "
                                  "not tell the new version's effect. Resolve them, or roll forward with "
                                  "releaseStrategy verify-then-switch. The live aliases were not moved")
                return
            percent = settings["canary_percent"]
            run_phase(phases["shift"], lambda: self._shift(pending, report, canary_percent=percent), self.progress,
                      self.clock)
            try:
                run_phase(phases["bake"], lambda: self._bake(pending, outputs, settings), self.progress, self.clock)
            except PhaseFailed as error:
                self._route_back(pending, report, f"canary rolled back: {error.error}")
                report.outcome, report.exit_code, report.failure = "rolled back", EXIT_NOT_RELEASED, (
                    f"{error}; rolled back automatically to the previous version")
                return
        run_phase(phases["shift"], lambda: self._shift(pending, report, canary_percent=100), self.progress,
                  self.clock)
        report.outcome = "released"

    def _verify(self, outputs: Mapping[str, Any], pending: list[PipelineRelease]) -> None:
        """The health check on each new version, in parallel; every pipeline's result is recorded."""
        def check(pipeline: PipelineRelease) -> None:
            try:
                pipeline.verification = self.verify(outputs, pipeline.job, pipeline.new_version)
                pipeline.table_snapshot = _verified_snapshot(pipeline.verification, pipeline.job)
                pipeline.status = "verified"
            except Exception as error:
                pipeline.status, pipeline.error = "verification failed", str(error)
                pipeline.verification = getattr(getattr(error, "result", None), "to_dict", dict)()

        with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
            list(pool.map(check, pending))
        failed = [p for p in pending if p.status == "verification failed"]
        if failed:
            raise ReleaseError("; ".join(f"{p.job} ({_short(p.new_version)}): {p.error}" for p in failed))

    def _shift(self, pending: list[PipelineRelease], report: ReleaseReport, *, canary_percent: int) -> None:
        for pipeline in pending:
            alias = self.client.alias(pipeline.alias_arn)
            history = history_of(alias.description, alias.routes)
            new, stable = version_number(pipeline.new_version), history.live
            who = f"release {report.commit[:12] or '?'} by {report.actor or '?'} {self.now():%Y-%m-%dT%H:%MZ}"
            if canary_percent < 100:
                routes = (Route(pipeline.new_version, canary_percent),
                          Route(version_arn(machine_of(pipeline.new_version), stable), 100 - canary_percent))
                note = AliasHistory(stable, history.earlier, f"canary v{new} {canary_percent}%; {who}")
                pipeline.status = "canary"
            else:
                routes = (Route(pipeline.new_version, 100),)
                earlier = (stable, *history.earlier) if stable != new else history.earlier
                note = AliasHistory(new, tuple(v for v in earlier if v != new), who)
                pipeline.status = "live"
            self.client.route(pipeline.alias_arn, routes, note.describe())

    def _bake(self, pending: list[PipelineRelease], outputs: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
        """Watch the stack's alarms and the new versions' executions until the bake time is over."""
        alarm_names = list(outputs.get("alarm_names") or [])
        started, since = self.clock(), self.now()
        bake_seconds = settings["canary_bake_minutes"] * 60
        while True:
            firing = self.client.firing_alarms(alarm_names)
            if firing:
                raise ReleaseError(f"alarm(s) in ALARM during the bake: {', '.join(firing)}")
            failed = [arn for p in pending for arn in self.client.failed_executions(p.new_version, since)]
            if failed:
                raise ReleaseError(f"execution(s) of the new version failed during the bake: {', '.join(failed)}")
            remaining = bake_seconds - (self.clock() - started)
            if remaining <= 0:
                return
            self.sleep(min(self.poll_seconds, remaining))

    def _route_back(self, pending: list[PipelineRelease], report: ReleaseReport, reason: str) -> None:
        for pipeline in pending:
            alias = self.client.alias(pipeline.alias_arn)
            history = history_of(alias.description, alias.routes)
            self.client.route(pipeline.alias_arn, (Route(version_arn(machine_of(pipeline.new_version),
                                                                     history.live), 100),),
                              AliasHistory(history.live, history.earlier, reason[:120]).describe())
            pipeline.status = "rolled back"

    def _prune(self, outputs: Mapping[str, Any], settings: Mapping[str, Any], report: ReleaseReport) -> None:
        """Delete versions beyond the newest N that no alias routes to, and retire the Glue code only they ran."""
        keep_newest = settings["retained_releases"]
        for newest in sorted(outputs["pipeline_versions"].values()):
            machine = machine_of(newest)
            routed = {r.version_arn for alias in self.client.aliases(machine) for r in self.client.alias(alias).routes}
            versions = sorted(self.client.versions(machine), key=version_number, reverse=True)
            kept = set(versions[:keep_newest]) | routed | {newest}
            doomed = [v for v in versions if v not in kept]
            if not doomed:
                continue
            infos: dict[str, VersionInfo | None] = {v: self.client.version(v) for v in versions}
            code_kept = {uri for v in kept if infos.get(v) for uri in infos[v].glue_code}
            code_doomed = {uri for v in doomed if infos.get(v) for uri in infos[v].glue_code}
            for version in doomed:
                self.client.delete_version(version)
                report.pruned_versions.append(version)
            retired = sorted(code_doomed - code_kept)
            self.client.retire_artifacts(retired)
            report.retired_artifacts += retired


def _verified_snapshot(verification: Mapping[str, Any], job: str) -> int | None:
    """The main snapshot the verification run of `job` found (`verification` is a HealthResult as a dict)."""
    try:
        return verification["jobs"][job]["table_snapshot"]
    except (KeyError, TypeError):
        raise ReleaseError(f"the verification of {job} reported no jobs.{job}.table_snapshot") from None


def _release_settings(outputs: Mapping[str, Any]) -> dict[str, Any]:
    missing = [k for k in ("pipeline_versions", "pipeline_aliases", "release") if k not in outputs]
    if missing:
        raise ReleaseError(f"stack outputs lack {', '.join(missing)}: deploy this program version first")
    settings = dict(outputs["release"])
    if settings.get("strategy") not in STRATEGIES:
        raise ReleaseError(f"release.strategy = {settings.get('strategy')!r}: must be one of {', '.join(STRATEGIES)}")
    return settings


# --- rollback and status -------------------------------------------------------------------------------------

@dataclass
class RollbackResult:
    pipeline: str
    alias_arn: str
    from_version: str
    to_version: str
    reason: str
    actor: str
    to_commit: str = ""
    from_commit: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def rollback(client: ReleaseClient, aliases: Mapping[str, str], *, to: int | None = None, reason: str = "",
             actor: str = "", now: Callable[[], datetime] = now_utc) -> list[RollbackResult]:
    """Move each alias back to the version live before the current one (or to version `to`): one call per alias.

    Every target is resolved and checked before any alias moves, so an error changes nothing. A canary in
    flight is rolled back to its stable version.
    """
    if to is not None and len(aliases) != 1:
        raise ReleaseError(f"--to {to} names one version, but the stack has {len(aliases)} pipelines "
                           f"({', '.join(sorted(aliases))}): choose one with --job")
    plans = []
    for name, alias_arn in sorted(aliases.items()):
        alias = client.alias(alias_arn)
        history = history_of(alias.description, alias.routes)
        machine = machine_of(alias.main_version)
        current = alias.routes[0].version_arn if alias.weight_of(alias.main_version) == 100 else None
        stable = version_arn(machine, history.live)
        if to is not None:
            target, earlier = version_arn(machine, to), tuple(v for v in (history.live, *history.earlier) if v != to)
        elif current != stable:  # a canary (or a hand-made route) is in flight: back to the stable version
            target, earlier = stable, history.earlier
        elif history.earlier:
            target, earlier = version_arn(machine, history.earlier[0]), history.earlier[1:]
        else:
            raise ReleaseError(f"{name}: nothing to roll back to: v{history.live} is the only version this alias has "
                               "been released with (name one with --to)")
        if current == target:
            raise ReleaseError(f"{name}: v{version_number(target)} is already live")
        target_info = client.version(target)
        if target_info is None:
            raise ReleaseError(f"{name}: version v{version_number(target)} no longer exists (pruned or never "
                               f"published); `python -m automation status` lists the versions that do")
        from_version = current or next(r.version_arn for r in alias.routes if r.version_arn != stable)
        from_info = client.version(from_version)
        plans.append((alias_arn, target, earlier, RollbackResult(
            pipeline=name, alias_arn=alias_arn, from_version=from_version, to_version=target, reason=reason,
            actor=actor, to_commit=target_info.commit, from_commit=from_info.commit if from_info else "")))
    for alias_arn, target, earlier, result in plans:
        note = f"rolled back from v{version_number(result.from_version)} by {actor or '?'} {now():%Y-%m-%dT%H:%MZ}" + (
            f": {reason}" if reason else "")
        client.route(alias_arn, (Route(target, 100),),
                     AliasHistory(version_number(target), earlier, note).describe())
    return [plan[-1] for plan in plans]


def status(client: ReleaseClient, aliases: Mapping[str, str]) -> list[dict]:
    """Per pipeline: the routing now, and the last releases (live first) with their commit and publish time."""
    pipelines = []
    for name, alias_arn in sorted(aliases.items()):
        alias = client.alias(alias_arn)
        history = history_of(alias.description, alias.routes)
        machine = machine_of(alias.main_version)
        pipelines.append({
            "pipeline": name, "alias": alias_arn, "last_action": history.note,
            "routing": [{"version": version_number(r.version_arn), "weight": r.weight} for r in alias.routes],
            "releases": [_described(client, version_arn(machine, n)) for n in (history.live, *history.earlier)],
        })
    return pipelines


def _described(client: ReleaseClient, arn: str) -> dict:
    info = client.version(arn)
    return {"version": version_number(arn), "commit": info.commit if info else "",
            "published": info.created.isoformat() if info and info.created else "", "exists": info is not None}
