"""The cost model (python -m automation stack cost): a small stack computed by hand line by line against the committed
price snapshot, the diff of one more Glue worker in prod, the assumptions' validation, schedule frequencies, the
price refresh from a recorded offer file fragment, and its failure without network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from automation import cost_assumptions, cost_cli, exit_codes, prices
from automation.cost_model import estimate
from automation.cost_report import diff, format_table, to_dict
from harness.program import ProgramRun, copy_program, run_program
from schedules import DAYS_PER_MONTH, ScheduleError, runs_per_month
from stack_files import ROOT, SHIPPED_STACKS, stack_config

pytestmark = pytest.mark.tier("unit")

DATA = Path(__file__).parent / "data" / "cost"
SNAPSHOT = prices.snapshot_path("eu-west-1")


@pytest.fixture(scope="module")
def book() -> prices.PriceBook:
    return prices.load(SNAPSHOT)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, book) -> dict:
    folder = tmp_path_factory.mktemp("tiny")
    shutil.copy(DATA / "tiny_program.py", folder / "__main__.py")
    run = run_program("tiny", {}, program=folder / "__main__.py", project="tiny")
    return to_dict(estimate(run, cost_assumptions.load("tiny", DATA / "tiny-assumptions.yaml"), book))


@pytest.mark.tier("program")
def test_each_line_of_a_small_stack_is_its_hand_computed_quantity_at_the_snapshot_price(tiny, book):
    runs = 365 / 12 + 2  # rate(1 day) in a 730-hour month, and extraRunsPerMonth
    expected = {
        # 3 G.2X workers (2 DPU each) for half a minute: billed 1 minute, at the FLEX price.
        "glue-flex": (3 * 2 * 1 / 60 * runs, "glue_flex_dpu_hour"),
        "lambda-requests": (runs, "lambda_request"),
        "lambda-compute": (runs * 512 / 1024 * 1.5, "lambda_gb_second"),
        # Validate, Run, Notify, Done: the Catch's Broken state is not on a successful run's path.
        "step-functions": (runs * 4, "sfn_state_transition"),
        # raw: 2 GB a day expiring after 10 days; curated: half of it, kept for the 100-day horizon.
        "s3-standard": (2 * 10 + 2 * 0.5 * 100, "s3_standard_gb_month"),
        "s3-put": (10 * runs, "s3_put_request"),
        "s3-get": (20 * runs, "s3_get_request"),
        "kms-keys": (1, "kms_key_month"),
        "kms-requests": (5 * runs, "kms_request"),
        "cloudtrail": ((10 + 20) * runs, "cloudtrail_data_event"),
        # The function's 4 KB an invocation, the state machine's 8 KB a run (log level ALL).
        "logs-ingest": ((4 + 8) * runs * 1000 / 1e9, "logs_ingest_gb"),
        "logs-storage": ((4 * 7 + 8 * 14) * runs * 1000 / 1e9 / DAYS_PER_MONTH, "logs_storage_gb_month"),
        "alarms": (1, "alarm_metric_month"),
        "dashboards": (1, "dashboard_month"),
        # The alarm's and the dashboard's Tiny/Failures{job=sales} is one metric; AWS/Lambda's is free.
        "custom-metrics": (1, "custom_metric_month"),
        "scheduler": (365 / 12, "scheduler_invocation"),
        "sns-publish": (runs, "sns_publish"),
        "sns-email": (runs, "sns_email"),
        # The traced function runs inside the traced execution: one trace a run.
        "xray": (runs, "xray_trace"),
    }
    lines = {line["key"]: line for line in tiny["lines"]}
    assert set(lines) == set(expected)
    for key, (quantity, price) in expected.items():
        assert lines[key]["quantity"] == pytest.approx(quantity), key
        assert lines[key]["price"] == price and lines[key]["unit_usd"] == book[price].usd, key
        assert lines[key]["usd"] == pytest.approx(quantity * book[price].usd), key
    assert tiny["total_usd"] == pytest.approx(sum(q * book[p].usd for q, p in expected.values()))
    assert tiny["runs_a_month"] == {"sales": pytest.approx(runs)}


@pytest.mark.tier("program")
def test_every_resource_type_is_priced_free_or_listed_as_not_priced(tiny):
    assert tiny["not_priced"] == {"aws:ec2/vpc:Vpc": 1}
    assert tiny["free"] == {"aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
                            "aws:sns/topicSubscription:TopicSubscription": 1, "aws:sqs/queue:Queue": 1}
    table = format_table(tiny)
    assert "Not priced: aws:ec2/vpc:Vpc x1" in table
    assert "job sales: glueMinutesPerRun=0.5" in table and "storageHorizonDays=100" in table


@pytest.mark.tier("program")
@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_every_shipped_stacks_resources_are_priced_or_free_and_every_bucket_and_log_group_has_a_volume(
        stack, book, evaluations):
    """A new kind of resource, or a log group nothing in the model writes (the object-access trail's, say), would
    otherwise cost nothing silently."""
    result = estimate(evaluations.as_a_command_reads(stack), cost_assumptions.load(stack), book)
    assert to_dict(result)["not_priced"] == {}, stack
    assert not [note for note in result.notes if note.endswith(": 0 GB")], result.notes


def prod_estimate(run: ProgramRun, book) -> dict:
    return to_dict(estimate(run, cost_assumptions.load("prod"), book))


@pytest.mark.tier("program")
@pytest.mark.slow
def test_one_more_glue_worker_in_prod_changes_exactly_the_glue_line(tmp_path, book, evaluations):
    before = prod_estimate(evaluations.as_a_command_reads("prod"), book)
    copy_program(tmp_path)
    stack_file = tmp_path / "Pulumi.prod.yaml"
    text = stack_file.read_text()
    assert "    orders:\n      numberOfWorkers: 10\n" in text
    stack_file.write_text(text.replace("    orders:\n      numberOfWorkers: 10\n",
                                       "    orders:\n      numberOfWorkers: 11\n"))
    after = prod_estimate(run_program("prod", stack_config("prod", tmp_path), program=tmp_path / "__main__.py"), book)
    change = diff(before, after, "main")
    assert [m["key"] for m in change["moved"]] == ["glue-standard"]
    unchanged = {line["key"]: line["usd"] for line in before["lines"] if line["key"] != "glue-standard"}
    # Equal to the last bits of a float (sums may add the same parts in another order).
    assert {line["key"]: line["usd"] for line in after["lines"] if line["key"] != "glue-standard"} == pytest.approx(
        unchanged, rel=1e-12)
    # One G.2X worker (2 DPU) for the orders job's 25 minutes, on each of its runs (daily schedule + 4 by hand).
    runs = 365 / 12 + 4
    assert change["change_usd"] == pytest.approx(2 * 25 / 60 * runs * book["glue_dpu_hour"].usd)
    assert not change["large_increase"]


def test_a_large_increase_is_called_out_by_the_configured_threshold():
    before = {"stack": "prod", "total_usd": 100.0, "lines": [{"key": "glue", "title": "Glue", "usd": 60.0}]}
    after = {"stack": "prod", "total_usd": 125.0, "lines": [{"key": "glue", "title": "Glue", "usd": 85.0}],
             "large_increase": {"percent": 10.0, "usd": 20.0}, "not_priced": {}}
    assert diff(before, after, "main")["large_increase"]
    assert not diff(before, {**after, "large_increase": {"percent": 30.0, "usd": 20.0}}, "main")["large_increase"]
    assert not diff(before, {**after, "large_increase": {"percent": 10.0, "usd": 30.0}}, "main")["large_increase"]
    new = diff(None, after, "main")
    assert new["new_stack"] and new["before_usd"] == 0 and new["large_increase"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "assumptions.yaml"
    path.write_text(text)
    return path


def test_assumptions_are_defaults_then_stack_then_job():
    shipped = cost_assumptions.load("prod")
    assert shipped.stack["dailyInputGb"] == 5 and shipped.job("orders")["dailyInputGb"] == 20
    assert shipped.job("customers")["glueMinutesPerRun"] == 15
    assert cost_assumptions.load("dev").stack["s3PutsPerRun"] == 200  # the default


def test_bad_assumptions_name_the_key_the_value_and_what_is_allowed(tmp_path):
    defaults = "\n".join(f"  {key}: 1" for key in cost_assumptions.KEYS)
    path = write(tmp_path, f"defaults:\n{defaults}\nstacks:\n  prod:\n    dailyInputGB: 3\n    glueMinutesPerRun: -1\n"
                           "    jobs:\n      orders:\n        storageHorizonDays: 10\n")
    with pytest.raises(cost_assumptions.AssumptionsError) as raised:
        cost_assumptions.load("prod", path)
    problems = raised.value.problems
    assert "stacks.prod.dailyInputGB: unknown assumption; did you mean stacks.prod.dailyInputGb?" in problems
    assert "stacks.prod.glueMinutesPerRun = -1: must be a number >= 0" in problems
    assert any(p.startswith("stacks.prod.jobs.orders.storageHorizonDays: a stack-wide assumption") for p in problems)
    missing = write(tmp_path, "defaults:\n  glueMinutesPerRun: 1\n")
    with pytest.raises(cost_assumptions.AssumptionsError, match="defaults.dailyInputGb is missing"):
        cost_assumptions.load("prod", missing)


def test_an_override_of_a_job_the_stack_lacks_is_refused(tmp_path):
    assumed = cost_assumptions.Assumptions("prod", {}, {"ordres": {"dailyInputGb": 1.0}})
    with pytest.raises(cost_assumptions.AssumptionsError, match=r"stacks.prod.jobs.ordres: stack prod has no job "
                                                                r"ordres \(jobs: customers, orders\)"):
        assumed.check_jobs(["orders", "customers"], Path("cost-assumptions.yaml"))


@pytest.mark.parametrize(("expression", "runs"), [
    ("", 0), ("rate(1 day)", 365 / 12), ("rate(30 minutes)", 730 * 2), ("cron(0 3 * * ? *)", 365 / 12),
    # AWS numbers days from 1 = Sunday: 2-6 is Monday to Friday (261 weekdays in 2027).
    ("cron(0 8 ? * 2-6 *)", 261 / 12), ("cron(0 8 ? * MON-FRI *)", 261 / 12), ("cron(0/15 6-7 1 * ? *)", 8),
])
def test_schedule_expressions_fire_this_often_a_month(expression, runs):
    assert runs_per_month(expression) == pytest.approx(runs)


@pytest.mark.parametrize("expression", ["rate(1 week)", "cron(0 3 * * ?)", "cron(0 3 * * ? 2030)"])
def test_a_schedule_the_model_cannot_count_is_an_error_naming_it(expression):
    with pytest.raises(ScheduleError, match=expression.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")
                       .replace("?", r"\?")):
        runs_per_month(expression)


def test_refresh_takes_the_first_paid_tier_in_the_snapshots_unit_and_keeps_what_it_cannot_find(tmp_path):
    snapshot = tmp_path / "eu-west-1.json"
    shutil.copy(SNAPSHOT, snapshot)
    fragment = json.loads((DATA / "offer-AWSGlue-eu-west-1.json").read_text())
    fetched = []

    def fetch(url: str) -> dict:
        fetched.append(url)
        return fragment if "/AWSGlue/" in url else {"products": {}, "terms": {"OnDemand": {}}}

    result = prices.refresh(snapshot, fetch=fetch)
    assert "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AWSGlue/current/eu-west-1/index.json" in fetched
    # The free tier (0 USD) is skipped; the Flex price is per DPU-Second in the fragment: not the snapshot's unit.
    assert result.updated == {"glue_dpu_hour": (0.44, 0.45)}
    assert "glue_flex_dpu_hour" in result.kept and "lambda_request" in result.kept
    written = json.loads(snapshot.read_text())
    assert written["prices"]["glue_dpu_hour"]["usd"] == 0.45
    assert "published 2026-11-20T00:00:00Z" in written["prices"]["glue_dpu_hour"]["checked"]
    assert written["prices"]["glue_flex_dpu_hour"]["usd"] == 0.29
    assert prices.load(snapshot)["glue_dpu_hour"].usd == 0.45


def test_refresh_without_network_says_so_in_one_line_and_changes_nothing(tmp_path, monkeypatch, capsys):
    snapshot = tmp_path / "eu-west-1.json"
    shutil.copy(SNAPSHOT, snapshot)
    # Nothing listens on the discard port: the fetch fails as it does where the network is closed.
    monkeypatch.setattr(prices, "PRICE_LIST", "http://127.0.0.1:9/{offer}/current/{region}/index.json")
    from automation.cli import main

    assert main(["stack", "cost", "--refresh-prices", "--prices", str(snapshot)]) == exit_codes.FAILED
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: cannot fetch the AWS price list http://127.0.0.1:9/") and "is unchanged" in err
    assert snapshot.read_bytes() == SNAPSHOT.read_bytes()


def test_the_committed_snapshot_names_its_date_and_the_offer_file_of_every_price():
    data = json.loads(SNAPSHOT.read_text())
    assert data["region"] == "eu-west-1" and data["taken"] and data["source"].startswith("https://pricing.")
    assert all(entry["offer"] and entry["usagetype"] and entry["unit"] and entry["checked"]
               for entry in data["prices"].values())


def test_the_cli_refuses_an_unknown_stack_and_base_in_one_line(capsys):
    from automation.cli import main

    assert main(["stack", "cost", "--stack", "nope"]) == exit_codes.USAGE
    assert capsys.readouterr().err.strip().startswith("error: --stack 'nope': no Pulumi.nope.yaml")
    with pytest.raises(cost_cli.CostError, match="--base 'no-such-ref': git cannot read it"):
        cost_cli.base_estimates("no-such-ref", ["prod"], None, cost_assumptions.ASSUMPTIONS_PATH)


def test_a_stack_file_that_is_not_yaml_is_named_in_one_line(tmp_path, capsys):
    from automation.cli import main

    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.prod.yaml").write_text("config:\n  aws:region: {eu-west-1\n")
    assert main(["stack", "cost", "--stack", "prod", "--program-root", str(tmp_path)]) == exit_codes.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Pulumi.prod.yaml, line" in err and "not valid YAML" in err, err


@pytest.mark.tier("program")
@pytest.mark.slow
def test_cost_of_prod_from_the_command_line_as_json_and_against_a_base(capsys, monkeypatch, evaluations):
    import harness.program
    from automation.cli import main

    # The session's evaluation of the stack file the command reads (the base's estimate below runs the command's own
    # evaluation, in its own process).
    monkeypatch.setattr(harness.program, "run_program", evaluations.run_program_of_a_command)
    assert main(["stack", "cost", "--stack", "prod", "--json"]) == exit_codes.OK
    report = json.loads(capsys.readouterr().out)
    assert report["stack"] == "prod" and report["total_usd"] == sum(line["usd"] for line in report["lines"])
    assert {"glue-standard", "s3-standard", "cloudtrail"} <= {line["key"] for line in report["lines"]}
    # The base commit's program is estimated in a process of its own (`python -m automation stack cost`); a stack it
    # lacks is a new stack.
    base = cost_cli.base_estimates("HEAD", ["prod", "nostack"], None, cost_assumptions.ASSUMPTIONS_PATH)
    assert base["nostack"] is None
    assert base["prod"]["stack"] == "prod" and "glue-standard" in {line["key"] for line in base["prod"]["lines"]}
