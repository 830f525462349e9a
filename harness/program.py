"""Run `__main__.py` under Pulumi's own mocks and record every resource it registers.

Used by the tests, the benchmark and the policy report. The mocks only fill in what AWS would compute (ARNs,
generated names, ids); everything else is exactly what the program sent. The program runs through the public mocks
API (`set_mocks`, `pulumi.runtime.test`); what that API does not show (resource options, dependencies, the
serialized request) comes from policies/guardrails/pulumi_internals.py, the one place that touches SDK internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import runpy
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components.release_pins import Pin
from policies.guardrails import pulumi_internals
from stack_files import ROOT, as_engine_config, stack_config

PROJECT = "data-pipeline"
ACCOUNT_ID = "123456789012"
PARTITION = "aws"
DEFAULT_REGION = "eu-west-1"


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: tuple[str, ...] = ()
    # As the engine sends them to a policy pack: serialized (camelCase, unknown sentinels in preview).
    engine_props: dict[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Every resource option of the registration as the engine receives it (parent, aliases, protect, ...), camelCase.
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def parent_type(self) -> str:
        """Type of the component this resource was created in (`` at the top level)."""
        qualified = self.urn.split("::")[2]
        return qualified.rsplit("$", 1)[0] if "$" in qualified else ""


@dataclass
class ProgramRun:
    stack: str
    resources: list[Resource]
    exports: dict[str, Any] = field(default_factory=dict)
    mode: str = "update"  # or "preview"
    project: str = PROJECT
    # Tests' runs: `of_type` finding nothing is an error (a check over none would pass); readers of any program and
    # stack (the cost model sums whatever is there: dev has no trail) leave it off.
    strict: bool = False

    def of_type(self, type_: str, *, allow_empty: bool = False) -> list[Resource]:
        """Every resource of `type_`; in a strict run none is an error unless `allow_empty`, so that a check over
        them cannot pass on nothing (a renamed type token, a feature switched off)."""
        found = [r for r in self.resources if r.type == type_]
        if not found and self.strict and not allow_empty:
            raise LookupError(f"stack {self.stack!r} registered no {type_} (allow_empty=True if none is expected)")
        return found

    def one(self, type_: str, name: str) -> Resource:
        matches = [r for r in self.resources if r.type == type_ and r.name == name]
        if len(matches) != 1:
            raise LookupError(f"expected one {type_} named {name!r}, found {len(matches)}")
        return matches[0]


@dataclass(frozen=True)
class AwsAlias:
    """A `live` alias as it is in AWS before the update (what the program's alias data sources answer)."""

    routing: Mapping[int, int]  # version -> weight in percent (a Lambda alias: its one version)
    description: str = ""
    # The newest version published so far (a rollback's pin: the version rolled back from); default: the highest
    # version routed to.
    latest: int | None = None

    @classmethod
    def live(cls, version: int, description: str = "") -> AwsAlias:
        return cls(routing={version: 100}, description=description)

    @classmethod
    def pinned(cls, pin: Pin) -> AwsAlias:
        """As `python -m automation release rollback` leaves it: all on the pinned version, the pin in the
        description."""
        return cls(routing={pin.version: 100}, description=pin.describe(), latest=pin.over)

    @property
    def newest(self) -> int:
        return self.latest if self.latest is not None else max(self.routing)


@dataclass(frozen=True)
class AwsState:
    """What AWS holds before the update, for tests: the `live` aliases by state machine or function name (`default`
    for the others; None: no alias, a first deploy), and whether the update publishes a new version of each (the
    newest + 1) or changes nothing (the newest stays current)."""

    aliases: Mapping[str, AwsAlias] = field(default_factory=dict)
    default: AwsAlias | None = None
    publishes: bool = True
    # The error every alias data source answers instead (denied, throttled, ...), if any.
    lookup_error: str | None = None

    def alias(self, name: str) -> AwsAlias | None:
        return self.aliases.get(name, self.default)

    def published(self, name: str) -> int:
        """The version this update leaves current for the state machine or function `name`."""
        alias = self.alias(name)
        if alias is None:
            return 1
        return alias.newest + 1 if self.publishes else alias.newest


FIRST_DEPLOY = AwsState()
# What pulumi-aws's data sources answer for a missing alias (the Terraform provider's messages, AWS's error code).
NO_STATE_MACHINE_ALIAS = "no Step Functions State Machine Aliases matched"
NO_FUNCTION_ALIAS = "getting Lambda alias: ResourceNotFoundException: Alias not found: {name}"


# ARNs AWS gives each resource type, from the resource's inputs (and its name, given or generated).
ARN_FORMATS = {
    "aws:iam/role:Role": ("iam", "role{path}{name}"),
    "aws:iam/policy:Policy": ("iam", "policy{path}{name}"),
    "aws:cloudwatch/logGroup:LogGroup": ("logs", "log-group:{name}"),
    "aws:glue/catalogDatabase:CatalogDatabase": ("glue", "database/{name}"),
    "aws:glue/catalogTable:CatalogTable": ("glue", "table/{databaseName}/{name}"),
    "aws:glue/job:Job": ("glue", "job/{name}"),
    "aws:lambda/alias:Alias": ("lambda", "function:{functionName}:{name}"),
    "aws:sns/topic:Topic": ("sns", "{name}"),
    "aws:sqs/queue:Queue": ("sqs", "{name}"),
    "aws:cloudwatch/eventRule:EventRule": ("events", "rule/{name}"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("cloudwatch", "alarm:{name}"),
    "aws:scheduler/schedule:Schedule": ("scheduler", "schedule/default/{name}"),
    "aws:cloudtrail/trail:Trail": ("cloudtrail", "trail/{name}"),
}


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


class AwsMocks(pulumi.runtime.Mocks):
    """Computes the outputs AWS would: ARNs, generated bucket names, ids. Records inputs as sent."""

    def __init__(self, region: str, preview: bool = False, aws: AwsState = FIRST_DEPLOY):
        self.region = region
        self.aws = aws
        # In a preview AWS has computed nothing yet: outputs that are not inputs stay unknown.
        self.preview = preview
        # (type, logical name) -> inputs exactly as the program sent them (camelCase, as policies see them).
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}

    def _arn(self, service: str, resource: str, region: str | None = None, account: str = ACCOUNT_ID) -> str:
        return f"arn:{PARTITION}:{service}:{self.region if region is None else region}:{account}:{resource}"

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        outputs = dict(inputs)
        kind = args.typ
        if self.preview:
            self.inputs[(kind, args.name)] = inputs
            return f"{args.name}-id", outputs
        name = inputs.get("name") or f"{args.name}-{_short_hash(args.name)}"
        resource_id = name
        if kind == "aws:s3/bucket:Bucket":
            bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', args.name)}{_short_hash(args.name)}"
            resource_id = bucket
            outputs.update(bucket=bucket, arn=f"arn:{PARTITION}:s3:::{bucket}")
        elif kind == "aws:kms/key:Key":
            resource_id = f"{_short_hash(args.name)}-0000-4000-8000-{_short_hash(args.name + 'k')}0000"
            outputs.update(keyId=resource_id, arn=self._arn("kms", f"key/{resource_id}"))
        elif kind == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
            outputs["arn"] = self._arn("iam", f"oidc-provider/{inputs['url'].removeprefix('https://')}", region="")
        elif kind == "aws:s3/bucketObjectv2:BucketObjectv2":
            resource_id = inputs["key"]
        elif kind == "aws:lambda/function:Function":
            arn = self._arn("lambda", f"function:{name}")
            version = self.aws.published(name)
            outputs.update(arn=arn, version=str(version), qualifiedArn=f"{arn}:{version}")
        elif kind == "aws:sfn/stateMachine:StateMachine":
            arn = self._arn("states", f"stateMachine:{name}")
            published = f"{arn}:{self.aws.published(name)}"
            outputs.update(arn=arn, stateMachineVersionArn=published if inputs.get("publish") else "")
        elif kind == "aws-native:stepfunctions:StateMachineAlias":
            # arn:…:stateMachine:<machine>:<alias>, the machine taken from the version it ends on.
            version_arn = inputs["deploymentPreference"]["stateMachineVersionArn"]
            outputs["arn"] = f"{version_arn.rsplit(':', 1)[0]}:{name}"
        elif kind in ARN_FORMATS:
            service, resource = ARN_FORMATS[kind]
            region = "" if service == "iam" else None
            outputs["arn"] = self._arn(service, resource.format(**{**inputs, "name": name}), region=region)
        outputs.setdefault("name", name)
        outputs.setdefault("arn", self._arn(kind.split(":")[1].split("/")[0], resource_id))
        self.inputs[(kind, args.name)] = inputs
        return resource_id, outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/ci",
                    "id": ACCOUNT_ID, "userId": "AIDAMOCK"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": self.region, "name": self.region, "id": self.region,
                    "endpoint": f"ec2.{self.region}.amazonaws.com", "description": self.region}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
                    "reverseDnsPrefix": "com.amazonaws"}
        if args.token in ("aws:sfn/getAlias:getAlias", "aws:lambda/getAlias:getAlias") and self.aws.lookup_error:
            return {}, [("name", self.aws.lookup_error)]
        if args.token == "aws:sfn/getAlias:getAlias":
            machine_arn = args.args["statemachineArn"]
            alias = self.aws.alias(machine_arn.split(":")[6])
            if alias is None:
                return {}, [("name", NO_STATE_MACHINE_ALIAS)]
            return {"arn": f"{machine_arn}:{args.args['name']}", "name": args.args["name"],
                    "description": alias.description, "statemachineArn": machine_arn,
                    "routingConfigurations": [{"stateMachineVersionArn": f"{machine_arn}:{version}", "weight": weight}
                                              for version, weight in alias.routing.items()]}
        if args.token == "aws:lambda/getAlias:getAlias":
            function, name = args.args["functionName"], args.args["name"]
            alias = self.aws.alias(function)
            if alias is None:
                return {}, [("name", NO_FUNCTION_ALIAS.format(name=name))]
            arn = self._arn("lambda", f"function:{function}")
            return {"arn": f"{arn}:{name}", "name": name, "functionName": function, "description": alias.description,
                    "functionVersion": str(max(alias.routing, key=alias.routing.get)),
                    "invokeArn": f"{arn}:{name}/invocations"}
        raise NotImplementedError(f"no mock for invoke {args.token}")


# What the program is made of, copied whole (and what `stack cost --base` takes from a base commit). A copy
# evaluates like the original: it imports the SDK adapter (policies/guardrails/pulumi_internals.py), schedules.py and
# stack_files.py from this checkout, which is on the path, so the adapter is always the one for the installed SDKs.
PROGRAM_PARTS = ("__main__.py", "Pulumi.yaml", "settings", "components", "functions", "jobs")


def copy_program(folder: Path, *, root: Path = ROOT, also: tuple[str, ...] = ()) -> Path:
    """A copy of the program (with its stack files, and the parts of the repository named in `also`) in `folder`,
    for tests and benchmarks that add or change jobs; returns its `__main__.py`."""
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    for part in (*PROGRAM_PARTS, *also):
        source = root / part
        if source.is_dir():
            shutil.copytree(source, folder / part, ignore=ignore)
        else:
            shutil.copy(source, folder / part)
    for stack_file in root.glob("Pulumi.*.yaml"):
        shutil.copy(stack_file, folder / stack_file.name)
    return folder / "__main__.py"


# The program's package of jobs: a copied program imports its own (the CLI runs a program in its own folder).
JOBS_PACKAGE = "jobs"


@contextlib.contextmanager
def own_jobs_package(program_root: Path) -> Iterator[None]:
    """While a copied program runs, `import jobs...` finds the copy's jobs (a test's added job, say), not this
    repository's; afterwards this repository's modules are back."""
    if program_root.resolve() == ROOT:
        yield
        return

    def jobs_modules() -> dict[str, Any]:
        return {name: module for name, module in sys.modules.items()
                if name == JOBS_PACKAGE or name.startswith(f"{JOBS_PACKAGE}.")}

    ours = jobs_modules()
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(program_root))
    try:
        yield
    finally:
        sys.path.remove(str(program_root))
        for name in jobs_modules():
            del sys.modules[name]
        sys.modules.update(ours)


def ignore_failed_outputs(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A failed evaluation raises its error from `run_program`; the Outputs that waited on the failed step keep futures
    holding it, never retrieved. asyncio would log each with its traceback when collected, from whatever thread the
    collector runs in (moto server's, gRPC's), and Python 3.11's traceback formatting calls ast.parse, whose state
    CPython 3.11.7 shares between threads: pytest parsing in the main thread then fails with "SystemError: AST
    constructor recursion depth mismatch". So every future with an unretrieved exception on the loop the programs run
    on goes unlogged (a run whose program failed raises that error itself); anything else gets asyncio's handling."""
    if context.get("message") != "Future exception was never retrieved":
        loop.default_exception_handler(context)


def run_program(stack: str, config: dict[str, Any] | None = None, *, preview: bool = False,
                program: Path = ROOT / "__main__.py", project: str = PROJECT,
                aws: AwsState = FIRST_DEPLOY, strict: bool = False) -> ProgramRun:
    """Evaluate `program` (of Pulumi project `project`) for `stack` and return what it registered; config defaults
    to the stack file next to the program; `aws`: what AWS holds before the update (default: nothing yet);
    `strict`: see ProgramRun."""
    config = stack_config(stack, program.parent) if config is None else config
    mocks = AwsMocks(region=str(config.get("aws:region", DEFAULT_REGION)), preview=preview, aws=aws)
    monitor = pulumi_internals.recording_monitor(mocks)
    # A fresh root stack per run: set_mocks keeps an existing one, and with it the previous run's exports.
    pulumi.runtime.reset_options(project=project, stack=stack, preview=preview)
    pulumi.runtime.set_all_config(as_engine_config(config))
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=preview, monitor=monitor)
    exports: dict[str, Any] = {}

    @pulumi.runtime.test
    def evaluate():
        with own_jobs_package(program.parent):
            runpy.run_path(str(program), run_name="__main__")
        pulumi_internals.settle_outputs()
        # In a preview too: what is not known yet stays pulumi.output.UNKNOWN, as the engine would show it.
        return pulumi.Output.from_input(pulumi_internals.stack_outputs()).apply(exports.update,
                                                                                run_with_unknowns=True)

    # An evaluation makes a few hundred thousand short-lived objects; the cyclic collector's full passes over all
    # the process holds (a test session keeps every run) cost about a third of its time. It runs afterwards instead.
    collecting = gc.isenabled()
    gc.disable()
    # The loop Pulumi's test mode runs the program on: this thread's.
    asyncio.get_event_loop_policy().get_event_loop().set_exception_handler(ignore_failed_outputs)
    try:
        with pulumi_internals.without_stack_traces():
            evaluate()
    finally:
        if collecting:
            gc.enable()
    resources = []
    for registration in pulumi_internals.registrations(monitor):
        urn, request = registration.urn, registration.request
        type_, name = urn.split("::")[2].rsplit("$", 1)[-1], urn.split("::")[3]
        resources.append(Resource(
            type=type_, name=name, urn=urn, id=registration.id, inputs=mocks.inputs[(type_, name)],
            outputs=registration.state, protect=request.get("protect", False),
            retain_on_delete=request.get("retainOnDelete", False),
            ignore_changes=tuple(request.get("ignoreChanges", ())), engine_props=request.get("object", {}),
            dependencies=tuple(request.get("dependencies", ())),
            property_dependencies={key: tuple(value.get("urns", ()))
                                   for key, value in request.get("propertyDependencies", {}).items()},
            options={key: value for key, value in request.items() if key != "object"}))
    return ProgramRun(stack=stack, resources=resources, exports=exports, mode="preview" if preview else "update",
                      project=project, strict=strict)
