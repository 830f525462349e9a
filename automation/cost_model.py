"""A stack's monthly cost at list prices: its resources (the program under mocks), its usage (automation/cost_graph.py
from the resources and automation/cost-assumptions.yaml) and the committed price snapshot.

Every resource type is either priced (a line below reads it), free (no charge of its own: FREE_TYPES says why) or
listed as not priced, so a type the program starts to use shows up instead of costing nothing silently. No free
tier is applied: tiers are per account, and the stacks share accounts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from harness.program import ProgramRun
from schedules import DAYS_PER_MONTH

from .cost_assumptions import Assumptions
from .cost_graph import FUNCTION, GLUE_JOB, SCHEDULE, STATE_MACHINE, Usage, decoded, unqualified, usage
from .prices import PriceBook

GB = 1e9
# DPUs per worker of each Glue worker type (AWS Glue job docs: G.1X 1 DPU, ...); billed per second, 1 minute minimum.
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8, "G.025X": 0.25}
GLUE_MINIMUM_MINUTES = 1
GLUE_PRICE = {"STANDARD": "glue_dpu_hour", "FLEX": "glue_flex_dpu_hour"}
# Namespaces whose metrics AWS sends for free (the job monitor's own namespace is a custom one).
FREE_METRIC_NAMESPACES = ("AWS/", "Glue")
# Alarms on a period under a minute are high resolution.
HIGH_RESOLUTION_SECONDS = 60
FREE_TYPES = {
    "aws:iam/role:Role": "IAM has no charge",
    "aws:iam/rolePolicy:RolePolicy": "IAM has no charge",
    "aws:iam/policy:Policy": "IAM has no charge",
    "aws:kms/alias:Alias": "aliases are free (the key is priced)",
    "aws:lambda/alias:Alias": "aliases are free (the function is priced)",
    "aws:lambda/permission:Permission": "a resource policy statement",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": "retry settings of asynchronous invocations",
    "aws:sfn/alias:Alias": "aliases are free (the state machine is priced)",
    "aws-native:stepfunctions:StateMachineAlias": "aliases are free (the state machine is priced)",
    "aws:s3/bucketObjectv2:BucketObjectv2": "release code, counted in artifactsGb",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": "read by the bucket's storage line",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": "bucket setting",
    "aws:s3/bucketPolicy:BucketPolicy": "bucket setting",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": "bucket setting",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": "bucket setting",
    "aws:s3/bucketVersioning:BucketVersioning": "bucket setting (data is written once: no noncurrent versions)",
    "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration": "bucket setting (write-once data)",
    "aws:glue/catalogDatabase:CatalogDatabase": "within the Data Catalog's free million objects",
    "aws:glue/catalogTable:CatalogTable": "within the Data Catalog's free million objects",
    "aws:glue/securityConfiguration:SecurityConfiguration": "Glue setting",
    "aws:sns/topicPolicy:TopicPolicy": "topic setting",
    "aws:sns/topicSubscription:TopicSubscription": "deliveries are priced on the topic's line",
    "aws:cloudwatch/eventRule:EventRule": "events of AWS services on the default bus are free",
    "aws:cloudwatch/eventTarget:EventTarget": "part of its rule",
    "aws:sqs/queue:Queue": "dead-letter queues: requests only when deliveries fail",
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": "metric filters are free (an alarm on their metric is priced "
                                                      "with the custom metrics)",
}
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@dataclass(frozen=True)
class Part:
    """One resource's (or job's) share of a line."""

    subject: str
    quantity: float
    usd: float


@dataclass(frozen=True)
class Line:
    key: str
    title: str
    unit: str
    price: str
    unit_usd: float
    parts: tuple[Part, ...]
    basis: str

    @property
    def quantity(self) -> float:
        return sum(p.quantity for p in self.parts)

    @property
    def usd(self) -> float:
        return sum(p.usd for p in self.parts)


@dataclass
class Estimate:
    stack: str
    region: str
    prices_taken: str
    lines: list[Line]
    assumptions: Assumptions
    free: dict[str, int] = field(default_factory=dict)
    not_priced: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # Job -> pipeline runs a month (schedule firings and extraRunsPerMonth).
    runs: dict[str, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(line.usd for line in self.lines)


class _Lines:
    """Collects the lines of one estimate, each priced from the snapshot."""

    def __init__(self, prices: PriceBook):
        self.prices, self.lines = prices, []

    def add(self, key: str, title: str, unit: str, price: str, quantities: dict[str, float], basis: str) -> None:
        unit_usd = self.prices[price].usd
        self.lines.append(Line(key=key, title=title, unit=unit, price=price, unit_usd=unit_usd, basis=basis,
                               parts=tuple(Part(s, q, q * unit_usd) for s, q in quantities.items())))


def _glue(lines: _Lines, use: Usage) -> None:
    by_class: dict[str, dict[str, float]] = {}
    for job, resource in sorted(use.glue_jobs.items()):
        inputs = resource.inputs
        dpus = DPU_PER_WORKER[inputs.get("workerType", "G.1X")] * float(inputs.get("numberOfWorkers", 2))
        minutes = max(use.assumptions.job(job)["glueMinutesPerRun"], GLUE_MINIMUM_MINUTES)
        execution = inputs.get("executionClass", "STANDARD")
        by_class.setdefault(execution, {})[job] = dpus * minutes / 60 * use.runs_of_job(job)
    for execution, hours in sorted(by_class.items()):
        lines.add(f"glue-{execution.lower()}", f"Glue ETL jobs ({execution})", "DPU-hours", GLUE_PRICE[execution],
                  hours, "workers x DPU per worker type x max(glueMinutesPerRun, 1) / 60 x runs a month")


def _table_optimizers(lines: _Lines, run: ProgramRun, use: Usage) -> None:
    optimizers = run.of_type("aws:glue/catalogTableOptimizer:CatalogTableOptimizer")
    if optimizers:
        per_day = use.assumptions.stack["optimizerDpuMinutesPerDay"]
        lines.add("glue-optimizers", "Glue table optimizers", "DPU-hours", "glue_dpu_hour",
                  {f"{o.inputs.get('tableName')} {o.inputs.get('type')}": per_day * DAYS_PER_MONTH / 60
                   for o in optimizers}, "optimizerDpuMinutesPerDay x days a month / 60, each optimizer")


def _lambda(lines: _Lines, run: ProgramRun, use: Usage) -> None:
    requests, seconds = {}, {}
    for function in run.of_type(FUNCTION):
        arn, name = function.outputs.get("arn", ""), function.inputs.get("name", function.name)
        gb = float(function.inputs.get("memorySize", 128)) / 1024
        requests[name] = use.invocations.get(arn, 0.0)
        seconds[name] = sum(count * gb * use.assumptions.job(job)["lambdaSecondsPerInvocation"]
                            for count, job in use.invocation_sources.get(arn, []))
    if requests:
        lines.add("lambda-requests", "Lambda requests", "requests", "lambda_request", requests,
                  "pipeline runs x the function's tasks; schedule firings; Glue run endings (event rules)")
        lines.add("lambda-compute", "Lambda compute", "GB-seconds", "lambda_gb_second", seconds,
                  "invocations x memory GB x lambdaSecondsPerInvocation")


def _step_functions(lines: _Lines, use: Usage) -> None:
    if use.pipelines:
        lines.add("step-functions", "Step Functions state transitions", "transitions", "sfn_state_transition",
                  {p.resource.inputs.get("name", p.resource.name): p.runs * p.states for p in use.pipelines},
                  "runs a month x states a successful execution enters (no retries)")


def _lifecycle(run: ProgramRun, bucket: str) -> tuple[float, float]:
    """(days to Standard-IA, days to expiry) of a bucket's whole-bucket lifecycle rule; 0 = never."""
    for config in run.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"):
        if config.inputs.get("bucket") != bucket:
            continue
        for rule in config.inputs.get("rules") or []:
            whole = not (rule.get("filter") or {}).get("tag") and not (rule.get("filter") or {}).get("prefix")
            if rule.get("status") == "Enabled" and whole:
                to_ia = next((t.get("days", 0) for t in rule.get("transitions") or []
                              if t.get("storageClass") == "STANDARD_IA"), 0)
                return float(to_ia or 0), float((rule.get("expiration") or {}).get("days", 0) or 0)
    return 0.0, 0.0


def _zone_inflow(zone: str, use: Usage, audit_gb_a_day: float) -> tuple[float, str]:
    """GB arriving a day in a zone (or, for a zone of fixed size, its size with `fixed`), from the assumptions."""
    jobs = [use.assumptions.job(job) for job in use.glue_jobs]
    ratios = {"raw": None, "curated": "curatedToInputRatio", "temp": "tempToInputRatio"}
    if zone in ratios:
        return sum(j["dailyInputGb"] * (j[ratios[zone]] if ratios[zone] else 1) for j in jobs), "daily"
    if zone == "artifacts":
        return use.assumptions.stack["artifactsGb"], "fixed"
    if zone == "audit":
        return audit_gb_a_day, "daily"
    return 0.0, "unknown"


def _s3_requests(use: Usage) -> tuple[dict[str, float], dict[str, float]]:
    puts = {job: use.assumptions.job(job)["s3PutsPerRun"] * use.runs_of_job(job) for job in use.glue_jobs}
    gets = {job: use.assumptions.job(job)["s3GetsPerRun"] * use.runs_of_job(job) for job in use.glue_jobs}
    return puts, gets


def _audited_events(run: ProgramRun, use: Usage) -> dict[str, float]:
    """S3 data events the stack's trails record: every request of the jobs, on the lake's buckets, per trail."""
    puts, gets = _s3_requests(use)
    events = {}
    for trail in run.of_type("aws:cloudtrail/trail:Trail"):
        selectors = [f for s in trail.inputs.get("advancedEventSelectors") or [] for f in s.get("fieldSelectors", [])]
        if any(f.get("field") == "resources.type" and "AWS::S3::Object" in f.get("equals", []) for f in selectors):
            events[trail.inputs.get("name", trail.name)] = sum(puts.values()) + sum(gets.values())
    return events


def _audit_gb(use: Usage, events: float) -> float:
    """GB of audit records `events` data events make (cloudTrailBytesPerEvent each)."""
    return events * use.assumptions.stack["cloudTrailBytesPerEvent"] / GB


def _s3(lines: _Lines, run: ProgramRun, use: Usage, audited: dict[str, float]) -> None:
    horizon = use.assumptions.stack["storageHorizonDays"]
    audit_gb_a_day = _audit_gb(use, sum(audited.values())) / DAYS_PER_MONTH
    standard, infrequent = {}, {}
    for bucket in run.of_type("aws:s3/bucket:Bucket"):
        zone = (bucket.inputs.get("tags") or {}).get("zone", "")
        inflow, kind = _zone_inflow(zone, use, audit_gb_a_day)
        if kind == "unknown":
            use.notes.append(f"bucket {bucket.name}: no volume assumption for zone {zone or '(none)'}: 0 GB")
        to_ia, expiry = _lifecycle(run, bucket.outputs.get("bucket", ""))
        kept = expiry or horizon
        if kind == "fixed":
            standard[bucket.name] = inflow
        elif to_ia and to_ia < kept:
            standard[bucket.name], infrequent[bucket.name] = inflow * to_ia, inflow * (kept - to_ia)
        else:
            standard[bucket.name] = inflow * kept
    basis = ("GB a day (dailyInputGb x the zone's ratio; audit: events x cloudTrailBytesPerEvent) x days kept by "
             "the lifecycle rule (storageHorizonDays where nothing expires)")
    lines.add("s3-standard", "S3 Standard storage", "GB-months", "s3_standard_gb_month", standard, basis)
    if infrequent:
        lines.add("s3-standard-ia", "S3 Standard-IA storage", "GB-months", "s3_standard_ia_gb_month", infrequent,
                  basis)
    puts, gets = _s3_requests(use)
    lines.add("s3-put", "S3 PUT/COPY/POST/LIST requests", "requests", "s3_put_request", puts,
              "s3PutsPerRun x runs a month")
    lines.add("s3-get", "S3 GET requests", "requests", "s3_get_request", gets, "s3GetsPerRun x runs a month")


def _kms(lines: _Lines, run: ProgramRun, use: Usage) -> None:
    keys = run.of_type("aws:kms/key:Key")
    if keys:
        lines.add("kms-keys", "KMS keys", "key-months", "kms_key_month", {k.name: 1.0 for k in keys},
                  "customer managed keys")
        lines.add("kms-requests", "KMS requests", "requests", "kms_request",
                  {job: use.assumptions.job(job)["kmsRequestsPerRun"] * use.runs_of_job(job) for job in use.glue_jobs},
                  "kmsRequestsPerRun x runs a month")


def _cloudtrail(lines: _Lines, audited: dict[str, float]) -> None:
    if audited:
        lines.add("cloudtrail", "CloudTrail S3 data events", "events", "cloudtrail_data_event", audited,
                  "every S3 request of the jobs (s3PutsPerRun + s3GetsPerRun) x runs a month")


def _log_writers(run: ProgramRun, use: Usage, audited: dict[str, float]) -> dict[str, tuple[float, str]]:
    """Log group name -> (GB ingested a month, who writes it)."""
    writers: dict[str, tuple[float, str]] = {}
    for function in run.of_type(FUNCTION):
        group = (function.inputs.get("loggingConfig") or {}).get("logGroup")
        arn = function.outputs.get("arn", "")
        kb = sum(count * use.assumptions.job(job)["lambdaLogKbPerInvocation"]
                 for count, job in use.invocation_sources.get(arn, []))
        if group:
            writers[group] = (kb * 1000 / GB, f"function {function.inputs.get('name')}")
    groups = {g.outputs.get("arn", ""): g.inputs.get("name", "") for g in run.of_type(LOG_GROUP)}
    for pipeline in use.pipelines:
        destination = (pipeline.resource.inputs.get("loggingConfiguration") or {}).get("logDestination", "")
        group = groups.get(destination.removesuffix(":*"))
        values = use.assumptions.job(pipeline.job)
        kb = pipeline.runs * values["stateMachineLogKbPerRun"] if pipeline.log_level == "ALL" else 0.0
        if group:
            writers[group] = (kb * 1000 / GB, f"state machine at log level {pipeline.log_level}")
    for trail in run.of_type("aws:cloudtrail/trail:Trail"):
        group = groups.get((trail.inputs.get("cloudWatchLogsGroupArn") or "").removesuffix(":*"))
        name = trail.inputs.get("name", trail.name)
        if group:
            writers[group] = (_audit_gb(use, audited.get(name, 0.0)), f"trail {name}")
    for job, resource in use.glue_jobs.items():
        prefix = (resource.inputs.get("defaultArguments") or {}).get("--custom-logGroup-prefix")
        own = [name for name in groups.values() if prefix and name.startswith(prefix + "/")]
        mb = use.assumptions.job(job)["glueLogMbPerRun"] * use.runs_of_job(job)
        for name in own:
            writers[name] = (mb * 1e6 / GB / len(own), f"Glue job {job}")
    return writers


def _logs(lines: _Lines, run: ProgramRun, use: Usage, audited: dict[str, float]) -> None:
    writers, ingest, stored = _log_writers(run, use, audited), {}, {}
    for group in run.of_type(LOG_GROUP):
        name = group.inputs.get("name", group.name)
        if name not in writers:
            use.notes.append(f"log group {name}: no writer known: 0 GB")
        gb = writers.get(name, (0.0, ""))[0]
        retention = float(group.inputs.get("retentionInDays") or 0) or use.assumptions.stack["storageHorizonDays"]
        ingest[name], stored[name] = gb, gb * retention / DAYS_PER_MONTH
    if ingest:
        lines.add("logs-ingest", "CloudWatch Logs ingestion", "GB", "logs_ingest_gb", ingest,
                  "Glue: glueLogMbPerRun; Lambda: lambdaLogKbPerInvocation; states (level ALL): "
                  "stateMachineLogKbPerRun; per run or invocation; trails: data events x cloudTrailBytesPerEvent")
        lines.add("logs-storage", "CloudWatch Logs storage", "GB-months", "logs_storage_gb_month", stored,
                  "GB ingested a month x retention days / days a month (uncompressed: an upper bound)")


def _metric_alarms(lines: _Lines, run: ProgramRun) -> None:
    standard, high = {}, {}
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        queries = [q for q in alarm.inputs.get("metricQueries") or [] if q.get("metric")]
        target = high if float(alarm.inputs.get("period") or 60) < HIGH_RESOLUTION_SECONDS else standard
        target[alarm.inputs.get("name", alarm.name)] = float(len(queries) or 1)
    if standard:
        lines.add("alarms", "CloudWatch alarms", "alarm metrics", "alarm_metric_month", standard,
                  "metrics each standard-resolution alarm watches")
    if high:
        lines.add("alarms-high-resolution", "CloudWatch high-resolution alarms", "alarm metrics",
                  "high_resolution_alarm_metric_month", high, "metrics each high-resolution alarm watches")


def _custom_metrics(run: ProgramRun) -> set[tuple]:
    """Metrics in the stack's own namespaces that its alarms and dashboards read (the job monitor's, say)."""
    metrics = set()
    for alarm in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        namespace = alarm.inputs.get("namespace", "")
        if namespace and not namespace.startswith(FREE_METRIC_NAMESPACES):
            metrics.add((namespace, alarm.inputs.get("metricName"), *sorted(
                (alarm.inputs.get("dimensions") or {}).items())))
    for dashboard in run.of_type("aws:cloudwatch/dashboard:Dashboard"):
        for widget in (decoded(dashboard.inputs.get("dashboardBody")) or {}).get("widgets", []):
            previous: list = []
            for row in (widget.get("properties") or {}).get("metrics") or []:
                row = [previous[i] if v == "." and i < len(previous) else v for i, v in enumerate(row)
                       if not isinstance(v, dict)]
                previous = row
                if row and not str(row[0]).startswith(FREE_METRIC_NAMESPACES):
                    metrics.add((row[0], row[1], *sorted(zip(row[2::2], row[3::2], strict=False))))
    return metrics


def _dashboards_and_metrics(lines: _Lines, run: ProgramRun) -> None:
    dashboards = run.of_type("aws:cloudwatch/dashboard:Dashboard")
    if dashboards:
        lines.add("dashboards", "CloudWatch dashboards", "dashboard-months", "dashboard_month",
                  {d.inputs.get("dashboardName", d.name): 1.0 for d in dashboards}, "dashboards")
    metrics = _custom_metrics(run)
    if metrics:
        lines.add("custom-metrics", "CloudWatch custom metrics", "metric-months", "custom_metric_month",
                  {"/".join(str(p) for p in m[:2]) + "{" + ",".join(f"{k}={v}" for k, v in m[2:]) + "}": 1.0
                   for m in sorted(metrics, key=str)},
                  "distinct metrics (name and dimensions) in the stack's own namespaces its alarms and dashboards read")


def _scheduler(lines: _Lines, use: Usage) -> None:
    if use.schedule_runs:
        lines.add("scheduler", "EventBridge Scheduler invocations", "invocations", "scheduler_invocation",
                  dict(use.schedule_runs), "firings a month of each schedule expression")


def _sns(lines: _Lines, run: ProgramRun, use: Usage) -> None:
    publishes, emails = {}, {}
    for topic in run.of_type("aws:sns/topic:Topic"):
        arn, name = topic.outputs.get("arn", ""), topic.inputs.get("name", topic.name)
        publishes[name] = sum(p.runs * p.topics.count(arn) for p in use.pipelines)
        subscribers = [s for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")
                       if s.inputs.get("topic") == arn and s.inputs.get("protocol") == "email"]
        if subscribers:
            emails[name] = publishes[name] * len(subscribers)
    if publishes:
        lines.add("sns-publish", "SNS publishes", "requests", "sns_publish", publishes,
                  "pipeline runs x the notifications a successful execution sends (alarms: rare, not counted)")
    if emails:
        lines.add("sns-email", "SNS e-mail deliveries", "notifications", "sns_email", emails,
                  "publishes x e-mail subscriptions")


def _xray(lines: _Lines, run: ProgramRun, use: Usage) -> None:
    """One trace per traced execution; a traced function's invocation is a trace of its own unless a traced state
    machine called it (it then joins the execution's trace)."""
    traces = {p.resource.inputs.get("name", p.resource.name): p.runs for p in use.pipelines if p.traced}
    for function in run.of_type(FUNCTION):
        if (function.inputs.get("tracingConfig") or {}).get("mode") != "Active":
            continue
        arn = function.outputs.get("arn", "")
        inside = sum(p.runs for p in use.pipelines if p.traced for f in p.functions if unqualified(f) == arn)
        if use.invocations.get(arn, 0.0) > inside:
            traces[function.inputs.get("name", function.name)] = use.invocations[arn] - inside
    if traces:
        lines.add("xray", "X-Ray traces", "traces", "xray_trace", traces,
                  "traced executions, and invocations of traced functions outside them (all sampled)")


def _classify(run: ProgramRun) -> tuple[dict[str, int], dict[str, int]]:
    priced_types = {GLUE_JOB, STATE_MACHINE, FUNCTION, SCHEDULE, "aws:glue/catalogTableOptimizer:CatalogTableOptimizer",
                    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:cloudtrail/trail:Trail",
                    LOG_GROUP, "aws:cloudwatch/metricAlarm:MetricAlarm",
                    "aws:cloudwatch/dashboard:Dashboard", "aws:sns/topic:Topic"}
    # Custom resources only: components, and the engine's provider resources (`pulumi:providers:*`), cost nothing.
    counts = Counter(r.type for r in run.resources if r.options.get("custom") and not r.type.startswith("pulumi:"))
    free = {t: n for t, n in counts.items() if t in FREE_TYPES}
    not_priced = {t: n for t, n in counts.items() if t not in FREE_TYPES and t not in priced_types}
    return free, not_priced


def estimate(run: ProgramRun, assumptions: Assumptions, prices: PriceBook) -> Estimate:
    """The monthly estimate of the stack `run` evaluated."""
    use = usage(run, assumptions)
    lines = _Lines(prices)
    _glue(lines, use)
    _table_optimizers(lines, run, use)
    _lambda(lines, run, use)
    _step_functions(lines, use)
    audited = _audited_events(run, use)
    _s3(lines, run, use, audited)
    _kms(lines, run, use)
    _cloudtrail(lines, audited)
    _logs(lines, run, use, audited)
    _metric_alarms(lines, run)
    _dashboards_and_metrics(lines, run)
    _scheduler(lines, use)
    _sns(lines, run, use)
    _xray(lines, run, use)
    free, not_priced = _classify(run)
    return Estimate(stack=run.stack, region=prices.region, prices_taken=prices.taken, lines=lines.lines,
                    assumptions=assumptions, free=free, not_priced=not_priced, notes=use.notes,
                    runs=dict(sorted(use.glue_runs.items())))

