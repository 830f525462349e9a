"""The target version rule and what it reads: a rollback's pin (components/release_pins.py), the rule itself
(components/release_target.py), how often a schedule runs (components/schedules.py) and the config rule that a
canary sees scheduled runs; and no committed stack file holds the aliases."""

from __future__ import annotations

import pytest
from pulumi.output import UNKNOWN

from components.release_pins import DESCRIPTION_LIMIT, Pin, parse_pin
from components.release_target import FIRST, HOLD, PIN, RELEASE, AliasInAws, Target, choose_target, version_number
from schedules import longest_gap_minutes
from settings.parse import parse_settings
from settings.schema import PROJECT, STACK_FIELDS
from settings.validation import ConfigError
from stack_files import ROOT, config_section, stack_config, stack_names

pytestmark = pytest.mark.tier("unit")

JOBS_DIR = ROOT / "jobs"


# --- pins -----------------------------------------------------------------------------------------------------------

def test_a_pin_reads_back_from_the_description_it_writes():
    pin = Pin(version=3, over=5, note="rolled back by octocat at 2026-12-03T09:00Z: bad totals; see #42")
    assert pin.describe() == f"pinned v3 over v5; {pin.note}"
    assert parse_pin(pin.describe()) == pin
    assert parse_pin(Pin(version=1, over=2).describe()) == Pin(version=1, over=2, note="")


def test_a_pin_fits_an_alias_description_and_still_reads_back():
    pin = Pin(version=12, over=14, note="x" * 400)
    assert len(pin.describe()) == DESCRIPTION_LIMIT
    parsed = parse_pin(pin.describe())
    assert (parsed.version, parsed.over) == (12, 14) and pin.note.startswith(parsed.note)


@pytest.mark.parametrize("description", [None, "", "Released pipeline version", "pinned v3", "pinned v3 over vX",
                                         "note: pinned v3 over v5"])
def test_descriptions_without_a_pin_have_none(description):
    assert parse_pin(description) is None


def test_a_pin_holds_until_a_version_newer_than_the_one_rolled_back_from():
    pin = Pin(version=3, over=5)
    assert pin.holds_against(4) and pin.holds_against(5)
    assert not pin.holds_against(6)


# --- the target version rule ------------------------------------------------------------------------------------------

LIVE = AliasInAws(version=3)
PINNED = AliasInAws(version=3, description=Pin(version=3, over=5, note="by octocat").describe())


@pytest.mark.parametrize(("alias", "published", "hold", "expected"), [
    # First deploy: no alias in AWS, whatever the hold says.
    (None, 1, False, Target(live=None, version=1, reason=FIRST)),
    (None, 1, True, Target(live=None, version=1, reason=FIRST)),
    # Hold: the version live now, even over a newer one.
    (LIVE, 4, True, Target(live=3, version=3, reason=HOLD)),
    (PINNED, 6, True, Target(live=3, version=3, reason=HOLD)),
    # A release moves to what it published.
    (LIVE, 4, False, Target(live=3, version=4, reason=RELEASE)),
    # A pin holds while nothing newer than the version rolled back from is published, then a release replaces it.
    (PINNED, 5, False, Target(live=3, version=3, reason=PIN, pin=parse_pin(PINNED.description))),
    (PINNED, 4, False, Target(live=3, version=3, reason=PIN, pin=parse_pin(PINNED.description))),
    (PINNED, 6, False, Target(live=3, version=6, reason=RELEASE)),
    # A preview: the version to publish is unknown, so newer than any; hold and first deploy still decide.
    (PINNED, None, False, Target(live=3, version=None, reason=RELEASE)),
    (LIVE, None, True, Target(live=3, version=3, reason=HOLD)),
])
def test_the_target_version_rule(alias, published, hold, expected):
    assert choose_target(alias, published, hold) == expected


@pytest.mark.parametrize(("target", "line"), [
    (Target(live=3, version=5, reason=RELEASE), "live v3 -> v5 (canary 10 % for 30 min)"),
    (Target(live=None, version=1, reason=FIRST), "no live version yet -> v1 (canary 10 % for 30 min)"),
    (Target(live=3, version=None, reason=RELEASE),
     "live v3 -> the version this update publishes (canary 10 % for 30 min)"),
    (Target(live=3, version=3, reason=RELEASE), "live v3, nothing new to release"),
    (Target(live=3, version=3, reason=HOLD), "held at v3"),
    (Target(live=5, version=3, reason=PIN, pin=Pin(3, 5, "by octocat")),
     "pinned v3 by rollback (over v5; by octocat)"),
])
def test_each_decision_is_told_in_one_line(target, line):
    assert target.describe("canary 10 % for 30 min") == line


@pytest.mark.parametrize(("value", "number"), [
    ("arn:aws:states:eu-west-1:123456789012:stateMachine:data-pipeline-prod-orders-pipeline:12", 12),
    ("7", 7), (UNKNOWN, None), (None, None), ("", None)])
def test_the_version_a_qualified_arn_names(value, number):
    assert version_number(value) == number


# --- schedules and canaries -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "minutes"), [
    ("rate(1 minute)", 1), ("rate(15 minutes)", 15), ("rate(2 hours)", 120), ("rate(1 day)", 1440),
    ("cron(0 3 * * ? *)", 1440), ("cron(0 * * * ? *)", 60),
    # Every 15 minutes in office hours on weekdays: the longest wait is the weekend's, Friday 17:45 to Monday 8:00.
    ("cron(0/15 8-17 ? * MON-FRI *)", 62 * 60 + 15),
    ("cron(0 3 1 * ? *)", 31 * 1440),
])
def test_the_longest_wait_between_scheduled_runs(expression, minutes):
    assert longest_gap_minutes(expression) == minutes


def test_an_expression_that_is_no_schedule_is_refused():
    with pytest.raises(ValueError, match="cron"):
        longest_gap_minutes("cron(every day)")


def raw_config(stack: str, **changes) -> dict:
    prefix = f"{PROJECT}:"
    return {**{k[len(prefix):]: v for k, v in stack_config(stack).items() if k.startswith(prefix)}, **changes}


@pytest.mark.parametrize(("changes", "message"), [
    ({"pipelineSchedule": ""},
     "data-pipeline:releaseStrategy = 'canary': needs a data-pipeline:pipelineSchedule, whose runs the canary is "
     "judged by (no run would reach the new version); or releaseStrategy verify-then-switch"),
    ({"pipelineSchedule": "cron(0 3 * * ? *)", "canaryPercent": 10, "canaryBakeMinutes": 30},
     "data-pipeline:canaryBakeMinutes = 30: must be at least 14400 with canaryPercent 10 and pipelineSchedule "
     "'cron(0 3 * * ? *)' (runs up to 1440 minutes apart), so that a scheduled run reaches the new version during "
     "the bake (more than the 1440 allowed); or releaseStrategy verify-then-switch"),
    ({"pipelineSchedule": "rate(10 minutes)", "canaryPercent": 25, "canaryBakeMinutes": 39},
     "data-pipeline:canaryBakeMinutes = 39: must be at least 40 with canaryPercent 25 and pipelineSchedule "
     "'rate(10 minutes)' (runs up to 10 minutes apart), so that a scheduled run reaches the new version during the "
     "bake; or releaseStrategy verify-then-switch"),
])
@pytest.mark.parametrize("strategy", ["canary", "linear"])
def test_a_canary_that_would_see_no_scheduled_run_is_refused_with_key_value_and_what_is_allowed(changes, message,
                                                                                              strategy):
    message = message.replace("'canary'", repr(strategy))
    with pytest.raises(ConfigError) as error:
        parse_settings("dev", raw_config("dev", releaseStrategy=strategy, **changes), JOBS_DIR)
    assert [problem for problem in error.value.problems if problem.startswith(message)] == error.value.problems


def test_a_canary_whose_bake_sees_a_scheduled_run_is_accepted():
    settings = parse_settings("dev", raw_config("dev", releaseStrategy="canary", pipelineSchedule="rate(10 minutes)",
                                                canaryPercent=25, canaryBakeMinutes=40), JOBS_DIR)
    assert (settings.release.strategy, settings.release.canary_bake_minutes) == ("canary", 40)
    # Strategies that do not bake need no schedule.
    assert parse_settings("dev", raw_config("dev", releaseStrategy="verify-then-switch", pipelineSchedule=""),
                          JOBS_DIR).release.strategy == "verify-then-switch"


# --- holdAliases ------------------------------------------------------------------------------------------------------

def test_hold_is_off_unless_the_release_sets_it():
    assert STACK_FIELDS["holdAliases"].default is False
    assert parse_settings("dev", raw_config("dev"), JOBS_DIR).release.hold_aliases is False
    assert parse_settings("dev", raw_config("dev", holdAliases="true"), JOBS_DIR).release.hold_aliases is True


COMMITTED_CONFIG = [ROOT / f"Pulumi.{stack}.yaml" for stack in stack_names()] + sorted(
    (ROOT / "automation").glob("*profile*.yaml"))


@pytest.mark.parametrize("path", COMMITTED_CONFIG, ids=lambda path: path.name)
def test_no_committed_stack_file_holds_the_aliases(path):
    """Only the release's own workspace holds, for one update: a committed hold would freeze every alias."""
    config = config_section(path)
    assert str(config.get(f"{PROJECT}:holdAliases", False)).lower() == "false", path
