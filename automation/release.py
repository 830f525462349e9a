"""The release controller: verify each pipeline's new version before it takes any traffic, then let AWS shift it.

A release of a stack covers all its pipelines (one state machine per Glue job) together:

1. publish: `pulumi up` with `data-pipeline:holdAliases=true` set in this workspace only (the stack file is
   restored afterwards, also when interrupted): the new versions are published and no alias moves;
2. verify: the health check runs each new version by its version ARN (strategy all-at-once skips this);
3. move: the aliases are read again; if any changed since step 1 (a rollback, an operator), the release stops
   here (pre-empted). Otherwise `pulumi up` without the hold: each `live` alias's managed deployment (ALL_AT_ONCE
   or CANARY, in AWS) shifts the traffic, watches the stack's alarms and rolls back by itself; the engine waits;
4. report: each alias's routing read back from AWS and the canary evidence (executions of the new version since
   step 3 began, by status; a canary that saw none is flagged);
5. prune old versions and retire the Glue code only they ran.

Rollback moves every alias at once, one call each, and pins it (components/release_pins.py): the program keeps
a pinned alias until a deploy publishes a version newer than the pin's `over`, which a rollback sets to the
newest version that exists, so a release in flight cannot undo it either.

Exit codes: automation/exit_codes.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from components.release_pins import Pin, parse_pin
from settings.schema import GRADUAL_STRATEGIES, RELEASE_STRATEGIES

from . import exit_codes
from .aws_setup import AwsSetupMissing, setup_problem
from .interrupts import Interrupts
from .phases import Interrupted, PhaseFailed, interrupted_phase, run_phase
from .progress import Progress
from .release_client import AliasState, ReleaseClient, ReleaseError, Route, VersionInfo, machine_of, version_number
from .report import Phase

RELEASE_PHASES = ("publish", "verify", "move", "prune")


def version_arn(machine_arn: str, number: int) -> str:
    return f"{machine_arn}:{number}"


def now_utc() -> datetime:
    return datetime.now(UTC)


def holding_pin(alias: AliasState, new_version: str) -> Pin | None:
    """The rollback pin in the alias's description, if it still holds against `new_version` (the program keeps the
    alias there: components/release_target.py)."""
    pin = parse_pin(alias.description)
    return pin if pin and pin.holds_against(version_number(new_version)) else None


class ReleaseStack(Protocol):
    """What a release needs of the engine (tests inject their own)."""

    name: str

    def recover(self, on_output: Callable[[str], None]) -> list[str]: ...

    def deploy(self, on_output: Callable[[str], None], *, hold_aliases: bool = False) -> None: ...

    def outputs(self) -> dict[str, Any]: ...


# verify(stack outputs, job, version ARN) runs the health check on that version and returns its result, or raises.
Verify = Callable[[Mapping[str, Any], str, str], dict]


@dataclass
class PipelineRelease:
    job: str
    alias_arn: str = ""
    previous_version: str = ""  # what the alias routed most executions to when the release began
    new_version: str = ""
    # unchanged | pinned | verified | verification failed | live | rolled back | shifting
    status: str = "pending"
    verification: dict = field(default_factory=dict)
    error: str = ""
    # Main's snapshot of the job's table when the new version was verified: where `data rollback --snapshot` takes
    # the data back to if this release is undone (None: not verified, or the table was empty).
    table_snapshot: int | None = None
    held: AliasState | None = None  # the alias as the publish left it: any change before the move pre-empts
    routing: list[dict] = field(default_factory=list)  # read back after the move: [{version, weight}]
    canary: dict[str, int] = field(default_factory=dict)  # executions of the new version since the move, by status


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
    # released | unchanged | verification failed | pre-empted | rolled back | blocked | failed | interrupted
    outcome: str = "running"
    exit_code: int = exit_codes.OK
    failure: str = ""
    pruned_versions: list[str] = field(default_factory=list)
    retired_artifacts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, outcome: str, exit_code: int, failure: str) -> ReleaseReport:
        self.outcome, self.exit_code, self.failure = outcome, exit_code, failure
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str)

    def _gradual(self) -> str:
        if self.strategy not in GRADUAL_STRATEGIES:
            return ""
        step = "for" if self.strategy == "canary" else "more every"
        return f" ({self.canary_percent} % {step} {self.canary_bake_minutes} min, shifted by AWS)"

    def to_markdown(self) -> str:
        icon = {"released": "✅", "unchanged": "➖", "rolled back": "↩️"}.get(self.outcome, "❌")
        lines = [f"### {icon} Release of `{self.stack}` from {self.commit[:12] or 'unknown commit'}: {self.outcome}",
                 "", f"Strategy: **{self.strategy or '?'}**" + self._gradual()
                 + (f", by {self.actor}" if self.actor else ""), "",
                 "| phase | status | seconds |", "| --- | --- | ---: |"]
        lines += [f"| {p.name} | {p.status} | {p.seconds:.1f} |" for p in self.phases.values()]
        lines += ["", "| pipeline | was live | new version | status | routing now | canary executions | table "
                      "snapshot |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for p in self.pipelines.values():
            routing = ", ".join(f"v{r['version']} {r['weight']}%" for r in p.routing) or "—"
            canary = ", ".join(f"{n} {s.lower()}" for s, n in sorted(p.canary.items())) or "—"
            lines.append(f"| {p.job} | {_short(p.previous_version)} | {_short(p.new_version)} | {p.status}"
                         + (f": {p.error}" if p.error else "")
                         + f" | {routing} | {canary} | {_snapshot(p.table_snapshot)} |")
        recorded = [p for p in self.pipelines.values() if p.table_snapshot is not None]
        if recorded:
            lines += ["", "To undo this release's data too: "
                      + "; ".join(f"`python -m automation data rollback --stack {self.stack} --job {p.job} "
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


def _routing(alias: AliasState) -> list[dict]:
    return [{"version": version_number(r.version_arn), "weight": r.weight} for r in alias.routes]


@dataclass
class ReleaseController:
    client: ReleaseClient
    verify: Verify
    progress: Progress
    interrupts: Interrupts = field(default_factory=Interrupts)
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = now_utc

    def release(self, stack: ReleaseStack, report: ReleaseReport) -> ReleaseReport:
        """The whole release; SIGINT/SIGTERM ends it between steps (the engine's own steps are let finish)."""
        try:
            with self.interrupts.guard():
                return self._release(stack, report)
        except Interrupted as interrupted:
            during = interrupted_phase(report.phases.values(), "a check between phases")
            return report.fail("interrupted", exit_codes.INTERRUPTED, (
                f"interrupted by {interrupted} during {during}: each alias is on its old or its new version "
                f"(`python -m automation release status --stack {stack.name}`); run the release again to finish it"))

    def _engine(self, phase: Phase, action: Callable[[], None]) -> None:
        def guarded() -> None:
            with self.interrupts.engine():
                action()

        run_phase(phase, guarded, self.progress, self.clock)

    def _release(self, stack: ReleaseStack, report: ReleaseReport) -> ReleaseReport:
        phases = report.phases

        def publish() -> None:
            report.warnings += [f"a killed run's pending operation was cleared by a refresh: {operation}"
                                for operation in stack.recover(self.progress.engine)]
            stack.deploy(self.progress.engine, hold_aliases=True)

        try:
            self._engine(phases["publish"], publish)
            outputs = stack.outputs()
            settings = _release_settings(outputs)
        except AwsSetupMissing as error:
            return report.fail("failed", exit_codes.NO_AWS_SETUP, str(error))
        except (PhaseFailed, ReleaseError) as error:
            return report.fail("failed", exit_codes.FAILED, str(error))
        report.strategy = settings["strategy"]
        report.canary_percent, report.canary_bake_minutes = settings["canary_percent"], settings["canary_bake_minutes"]
        self._roll_out(stack, outputs, settings, report)
        try:
            run_phase(phases["prune"], lambda: self._prune(outputs, settings, report), self.progress, self.clock)
        except PhaseFailed as error:  # old versions stay a little longer; the release itself stands
            report.warnings.append(f"{error}; old versions are pruned by the next release")
        return report

    def _roll_out(self, stack: ReleaseStack, outputs: Mapping[str, Any], settings: Mapping[str, Any],
                  report: ReleaseReport) -> None:
        """Verify, check that no alias changed since the publish, move, read back: the report says how it ended."""
        try:
            pending = self._plan(outputs, report)
            stopped = self._before_move(outputs, settings, pending, report)
        except ReleaseError as error:
            report.fail("failed", exit_codes.FAILED, f"{error}; the live aliases were not moved")
            return
        except Exception as error:
            problem = setup_problem(error)
            if problem is None:
                raise
            report.fail("failed", exit_codes.NO_AWS_SETUP, f"{problem}; the live aliases were not moved")
            return
        if stopped:
            return
        since = self.now()
        moved: PhaseFailed | None = None
        try:
            self._engine(report.phases["move"], lambda: stack.deploy(self.progress.engine))
        except PhaseFailed as error:
            moved = error
        self._read_back(report, pending, since)
        self._conclude(report, pending, moved)

    def _before_move(self, outputs: Mapping[str, Any], settings: Mapping[str, Any], pending: list[PipelineRelease],
                     report: ReleaseReport) -> bool:
        """Whether the release stops before the move: verification failed, alarms already fire, or an alias changed
        since the publish (read again right before the move)."""
        if pending and settings["strategy"] != "all-at-once":
            try:
                run_phase(report.phases["verify"], lambda: self._verify(outputs, pending), self.progress, self.clock)
            except PhaseFailed as error:
                setup = isinstance(error.error, AwsSetupMissing)
                report.fail("failed" if setup else "verification failed",
                            exit_codes.NO_AWS_SETUP if setup else exit_codes.NOT_DONE,
                            f"{error}; the live aliases were not moved")
                return True
        firing = self.client.firing_alarms(list(outputs.get("alarm_names") or [])) \
            if settings["strategy"] in GRADUAL_STRATEGIES and pending else []
        if firing:
            report.fail("blocked", exit_codes.NOT_DONE, (
                f"alarms already in ALARM before the canary: {', '.join(firing)}; the managed deployment would roll "
                "back at once and tell nothing. Resolve them, or release with releaseStrategy verify-then-switch. "
                "The live aliases were not moved"))
            return True
        changed = [p.job for p in report.pipelines.values() if self.client.alias(p.alias_arn) != p.held]
        if changed:
            report.fail("pre-empted", exit_codes.NOT_DONE, (
                f"the live alias of {', '.join(changed)} changed since this release published its versions (a "
                "rollback or an operator): the release stops without moving any alias; release again to replace "
                "a rollback's pin with a newer version"))
            return True
        return False

    def _plan(self, outputs: Mapping[str, Any], report: ReleaseReport) -> list[PipelineRelease]:
        """Each pipeline's alias after the publish; those whose new version is to take the traffic."""
        pending = []
        for job, alias_arn in sorted(outputs["pipeline_aliases"].items()):
            new = outputs["pipeline_versions"][job]
            alias = self.client.alias(alias_arn)
            pipeline = PipelineRelease(job=job, alias_arn=alias_arn, new_version=new,
                                       previous_version=alias.main_version, held=alias)
            report.pipelines[job] = pipeline
            pin = holding_pin(alias, new)
            if alias.routes == (Route(new, 100),):
                pipeline.status = "unchanged"
            elif pin:
                pipeline.status, pipeline.error = "pinned", (
                    f"kept on v{pin.version} by a rollback until a version newer than v{pin.over} is released")
            else:
                pending.append(pipeline)
        if not pending:
            report.phases["verify"].status = "skipped"
        return pending

    def _verify(self, outputs: Mapping[str, Any], pending: list[PipelineRelease]) -> None:
        """The health check on each new version, in parallel; every pipeline's result is recorded."""
        def check(pipeline: PipelineRelease) -> str | None:
            try:
                pipeline.verification = self.verify(outputs, pipeline.job, pipeline.new_version)
                pipeline.table_snapshot = _verified_snapshot(pipeline.verification, pipeline.job)
                pipeline.status = "verified"
            except Exception as error:
                pipeline.status, pipeline.error = "verification failed", str(error)
                pipeline.verification = getattr(getattr(error, "result", None), "to_dict", dict)()
                return setup_problem(error)
            return None

        with ThreadPoolExecutor(max_workers=min(8, len(pending))) as pool:
            problems = [p for p in pool.map(check, pending) if p]
        if problems:
            raise AwsSetupMissing(problems[0])
        failed = [p for p in pending if p.status == "verification failed"]
        if failed:
            raise ReleaseError("; ".join(f"{p.job} ({_short(p.new_version)}): {p.error}" for p in failed))

    def _read_back(self, report: ReleaseReport, pending: list[PipelineRelease], since: datetime) -> None:
        """Each alias's routing after the move, and the executions its new version ran since the move began."""
        try:
            for pipeline in report.pipelines.values():
                alias = self._keep_pin(report, pipeline, self.client.alias(pipeline.alias_arn))
                pipeline.routing = _routing(alias)
                if pipeline not in pending:
                    continue
                if alias.routes == (Route(pipeline.new_version, 100),):
                    pipeline.status = "live"
                elif holding_pin(alias, pipeline.new_version):
                    pipeline.status = "pinned"  # a rollback landed during the move, and its pin held
                elif pipeline.held and alias.routes == pipeline.held.routes:
                    pipeline.status = "rolled back"
                else:
                    pipeline.status = "shifting"
                pipeline.canary = self.client.executions(pipeline.new_version, since)
                if report.strategy in GRADUAL_STRATEGIES and not pipeline.canary:
                    report.warnings.append(
                        f"{pipeline.job}: no canary execution ran during the managed deployment "
                        f"({report.canary_percent} % for {report.canary_bake_minutes} min): the alarms "
                        "judged nothing; watch the first runs of the new version")
        except Exception as error:
            problem = setup_problem(error) or str(error).splitlines()[0]
            report.warnings.append(f"could not read the aliases back ({problem}); AWS's managed deployment finishes "
                                   "or rolls back by itself: "
                                   f"`python -m automation release status --stack {report.stack}`")

    def _keep_pin(self, report: ReleaseReport, pipeline: PipelineRelease, alias: AliasState) -> AliasState:
        """A rollback that landed while AWS shifted the alias keeps its pin in the description, but the shift may
        have written the routing after it: put the routing back where the pin says (one call)."""
        pin = holding_pin(alias, pipeline.new_version)
        if not pin:
            return alias
        pinned = Route(version_arn(machine_of(pipeline.new_version), pin.version), 100)
        if alias.routes == (pinned,):
            return alias
        self.client.route(pipeline.alias_arn, (pinned,), alias.description)
        report.warnings.append(f"{pipeline.job}: the managed deployment moved the alias after a rollback pinned it "
                               f"to v{pin.version}; moved it back to v{pin.version}")
        return self.client.alias(pipeline.alias_arn)

    def _conclude(self, report: ReleaseReport, pending: list[PipelineRelease], moved: PhaseFailed | None) -> None:
        rolled_back = [p.job for p in pending if p.status == "rolled back"]
        pinned = [p.job for p in pending if p.status == "pinned"]
        if pinned:
            report.fail("pre-empted", exit_codes.NOT_DONE, (
                f"a rollback pinned {', '.join(pinned)} while this release moved the aliases; the pin holds against "
                "this release's versions, so they stay rolled back"))
        elif rolled_back and (moved or len(rolled_back) == len(pending)):
            report.fail("rolled back", exit_codes.NOT_DONE, (
                (f"{moved}; " if moved else "") + f"the managed deployment put {', '.join(rolled_back)} back on "
                "the version live before (an alarm fired, or the update failed)"))
        elif moved:
            report.fail("failed", exit_codes.FAILED, f"{moved}; each alias is on its old or its new version "
                                                       "(routing above)")
        elif any(p.status != "live" for p in pending if p.routing):
            report.fail("failed", exit_codes.FAILED, "the update finished but not every alias routes all to its "
                                                     "new version (routing above)")
        else:
            report.outcome = "released" if pending else "unchanged"

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
        raise AwsSetupMissing(f"stack outputs lack {', '.join(missing)}: deploy this program version first")
    settings = dict(outputs["release"])
    if settings.get("strategy") not in RELEASE_STRATEGIES:
        raise ReleaseError(f"release.strategy = {settings.get('strategy')!r}: must be one of "
                           f"{', '.join(RELEASE_STRATEGIES)}")
    return settings


# --- rollback and status -------------------------------------------------------------------------------------

@dataclass
class RollbackResult:
    target: str  # the pipeline (job), or `function <name>`
    alias: str  # the alias ARN, or the function's name
    from_version: int
    to_version: int
    pin: str  # the description written with the move
    to_commit: str = ""
    from_commit: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class RollbackIncomplete(ReleaseError):
    """Some aliases moved and some did not (an AWS error on their call): the message names both."""


def rollback(client: ReleaseClient, aliases: Mapping[str, str], *, stack: str | None = None, to: int | None = None,
             reason: str = "", actor: str = "", now: Callable[[], datetime] = now_utc) -> list[RollbackResult]:
    """Move each pipeline's alias back to the version before the one it routes to (or to version `to`), and each
    `live` function alias of `stack` to its previous version: every target resolved and checked first, so an
    error changes nothing; then all moved at once, one call each, routing 100 % to the target and pinning it.

    A shift in flight goes back to the version it shifts from. The pin's `over` is the newest version that
    exists, so neither a later `pulumi up` nor a release already in flight (its versions are published before
    its aliases move) undoes the rollback; only a release publishing a newer version does.
    """
    if to is not None and len(aliases) != 1:
        raise ReleaseError(f"--to {to} names one version, but the stack has {len(aliases)} pipelines "
                           f"({', '.join(sorted(aliases))}): choose one with --job")
    note = f"rollback by {actor or '?'} {now():%Y-%m-%dT%H:%MZ}" + (f": {reason}" if reason else "")
    moves: list[tuple[Callable[[], None], RollbackResult]] = []
    for name, alias_arn in sorted(aliases.items()):
        alias = client.alias(alias_arn)
        machine = machine_of(alias.main_version)
        routed, existing = alias.versions, sorted(version_number(v) for v in client.versions(machine))
        target = to if to is not None else _previous(name, routed, existing)
        if routed == (target,):
            raise ReleaseError(f"{name}: v{target} is already live")
        if target not in existing:
            raise ReleaseError(f"{name}: version v{target} no longer exists (pruned or never published); "
                               f"`python -m automation release status` lists the versions that do")
        pin = Pin(version=target, over=max([*existing, *routed]), note=note).describe()
        to_info, from_info = client.version(version_arn(machine, target)), client.version(
            version_arn(machine, routed[-1]))
        result = RollbackResult(target=name, alias=alias_arn, from_version=routed[-1], to_version=target, pin=pin,
                                to_commit=to_info.commit if to_info else "",
                                from_commit=from_info.commit if from_info else "")
        moves.append((partial(client.route, alias_arn, (Route(version_arn(machine, target), 100),), pin), result))
    for function in client.function_aliases(stack) if stack and to is None else ():
        versions = client.function_versions(function.function)
        older = [v for v in versions if v < function.version]
        if not older:
            continue  # never released twice: nothing to go back to
        pin = Pin(version=max(older), over=max([*versions, function.version]), note=note).describe()
        moves.append((partial(client.route_function, function.function, max(older), pin),
                      RollbackResult(target=f"function {function.function}", alias=function.function,
                                     from_version=function.version, to_version=max(older), pin=pin)))
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(moves)))) as pool:
        outcomes = list(pool.map(_attempt, [move for move, _ in moves]))
    failed = [f"{result.target}: {error}" for (_, result), error in zip(moves, outcomes, strict=True) if error]
    if failed:
        moved = [result.target for (_, result), error in zip(moves, outcomes, strict=True) if not error]
        raise RollbackIncomplete(f"not moved: {'; '.join(failed)}; moved: {', '.join(moved) or 'none'}. Run the "
                                 "rollback again for the rest")
    return [result for _, result in moves]


def _attempt(move: Callable[[], None]) -> str:
    try:
        move()
    except Exception as error:
        return setup_problem(error) or str(error).splitlines()[0]
    return ""


def _previous(name: str, routed: tuple[int, ...], existing: list[int]) -> int:
    """The version to go back to: the one a shift in flight comes from, else the newest one before the live one."""
    if len(routed) > 1:
        return routed[0]
    older = [v for v in existing if v < routed[0]]
    if not older:
        raise ReleaseError(f"{name}: nothing to roll back to: v{routed[0]} is the oldest version that exists "
                           "(name one with --to)")
    return older[-1]


STATUS_VERSIONS = 10


def status(client: ReleaseClient, aliases: Mapping[str, str]) -> list[dict]:
    """Per pipeline: the routing now, a rollback's pin if any, and the newest versions with commit and time."""
    pipelines = []
    for name, alias_arn in sorted(aliases.items()):
        alias = client.alias(alias_arn)
        machine = machine_of(alias.main_version)
        pin = parse_pin(alias.description)
        newest = sorted(client.versions(machine), key=version_number, reverse=True)[:STATUS_VERSIONS]
        pipelines.append({
            "pipeline": name, "alias": alias_arn, "description": alias.description,
            "pin": asdict(pin) if pin else None, "routing": _routing(alias),
            "versions": [_described(client, arn) for arn in newest],
        })
    return pipelines


def _described(client: ReleaseClient, arn: str) -> dict:
    info = client.version(arn)
    return {"version": version_number(arn), "commit": info.commit if info else "",
            "published": info.created.isoformat() if info and info.created else ""}
