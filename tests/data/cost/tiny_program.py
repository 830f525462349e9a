"""A small stack for tests/test_cost.py, every number chosen to be computed by hand: one FLEX Glue job (3 x G.2X) in
a component named `sales`, started daily by a four-state pipeline that calls one function and notifies one topic
with an e-mail subscriber; two buckets, a key, a trail, two log groups, an alarm, a dashboard, free resources and a
VPC, which the model does not price."""

import json

import pulumi
import pulumi_aws as aws

ROLE = "arn:aws:iam::123456789012:role/tiny"
tags = {"project": "tiny"}


class Job(pulumi.ComponentResource):
    def __init__(self, name: str):
        super().__init__("tiny:glue:Job", name)
        self.job = aws.glue.Job("etl", name="tiny-etl", role_arn=ROLE, worker_type="G.2X", number_of_workers=3,
                                execution_class="FLEX", glue_version="5.0",
                                command={"name": "glueetl", "script_location": "s3://code/main.py"},
                                opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({})


Job("sales")
fn_logs = aws.cloudwatch.LogGroup("fn-logs", name="/tiny/fn", retention_in_days=7)
states_logs = aws.cloudwatch.LogGroup("states-logs", name="/tiny/states", retention_in_days=14)
fn = aws.lambda_.Function("fn", name="tiny-fn", role=ROLE, runtime="python3.11", handler="h.handler",
                          memory_size=512, code=pulumi.AssetArchive({"h.py": pulumi.StringAsset("")}),
                          tracing_config={"mode": "Active"}, logging_config={"log_format": "JSON",
                                                                             "log_group": "/tiny/fn"})
topic = aws.sns.Topic("alerts", name="tiny-alerts")
aws.sns.TopicSubscription("oncall", topic=topic.arn, protocol="email", endpoint="oncall@example.com")
definition = pulumi.Output.all(fn=fn.arn, topic=topic.arn).apply(lambda v: json.dumps({
    "StartAt": "Validate",
    "States": {
        "Validate": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": f"{v['fn']}:1"}, "Next": "Run"},
        "Run": {"Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync",
                "Parameters": {"JobName": "tiny-etl"}, "Next": "Notify",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Broken"}]},
        "Notify": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                   "Parameters": {"TopicArn": v["topic"], "Message": "done"}, "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Broken": {"Type": "Fail"},
    }}))
machine = aws.sfn.StateMachine("pipeline", name="tiny-pipeline", role_arn=ROLE, definition=definition,
                               tracing_configuration={"enabled": True},
                               logging_configuration={"level": "ALL", "include_execution_data": False,
                                                      "log_destination": states_logs.arn.apply(lambda a: f"{a}:*")})
aws.scheduler.Schedule("daily", name="tiny-daily", schedule_expression="rate(1 day)",
                       flexible_time_window={"mode": "OFF"},
                       target={"arn": machine.arn.apply(lambda a: f"{a}:live"), "role_arn": ROLE})
raw = aws.s3.Bucket("raw", bucket="tiny-raw", tags={**tags, "zone": "raw"})
aws.s3.BucketLifecycleConfiguration("raw-lifecycle", bucket=raw.bucket, rules=[
    {"id": "zone", "status": "Enabled", "filter": {"prefix": ""}, "expiration": {"days": 10}}])
aws.s3.Bucket("curated", bucket="tiny-curated", tags={**tags, "zone": "curated"})
aws.kms.Key("key")
aws.cloudtrail.Trail("trail", name="tiny-trail", s3_bucket_name="tiny-audit", advanced_event_selectors=[{
    "name": "objects", "field_selectors": [{"field": "eventCategory", "equals": ["Data"]},
                                           {"field": "resources.type", "equals": ["AWS::S3::Object"]}]}])
aws.cloudwatch.MetricAlarm("failures", name="tiny-failures", namespace="Tiny", metric_name="Failures",
                           dimensions={"job": "sales"}, statistic="Sum", period=300, evaluation_periods=1,
                           threshold=1, comparison_operator="GreaterThanOrEqualToThreshold")
aws.cloudwatch.Dashboard("board", dashboard_name="tiny", dashboard_body=json.dumps({"widgets": [
    {"type": "metric", "properties": {"metrics": [["Tiny", "Failures", "job", "sales"],
                                                  ["AWS/Lambda", "Errors", "FunctionName", "tiny-fn"]]}}]}))
aws.sqs.Queue("dead-letters", name="tiny-dlq")
aws.ec2.Vpc("network", cidr_block="10.0.0.0/16")
