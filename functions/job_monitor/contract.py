"""What the job monitor counts and under which names: its handler emits these metrics, and the alarms and
dashboard in components/monitoring.py watch them, so both read them from here."""

ALERT_STATES = ("FAILED", "TIMEOUT", "STOPPED", "ERROR")
FINAL_STATES = ("SUCCEEDED", *ALERT_STATES)
SUCCEEDED_METRIC = "GlueJobRunsSucceeded"
FAILURE_METRIC = "GlueJobRunFailures"
METRIC_NAMES = {"SUCCEEDED": SUCCEEDED_METRIC, **{state: FAILURE_METRIC for state in ALERT_STATES}}
# Powertools' `service` dimension on every metric: the function's key (POWERTOOLS_SERVICE_NAME).
SERVICE = "job_monitor"
