"""tests/conftest.py itself: the test tiers (each test gets exactly one, at least as heavy as its fixtures) and the
test process's shared boto3 model cache."""

from __future__ import annotations

from dataclasses import dataclass, field

import boto3
import pytest

from harness.program import run_program
from tests.conftest import tier_problem

pytestmark = pytest.mark.tier("unit")


@dataclass
class Item:
    """What tier_problem reads of a collected test: its markers, closest first, and its fixtures."""

    own: list = field(default_factory=list)
    inherited: list = field(default_factory=list)
    fixturenames: list = field(default_factory=list)

    @property
    def own_markers(self):
        return self.own

    def iter_markers(self, name=None):
        return [m for m in [*self.own, *self.inherited] if name is None or m.name == name]


def tier(name: str):
    return pytest.mark.tier(name).mark


def test_a_test_without_a_tier_is_refused():
    assert "has no tier" in tier_problem(Item())


def test_the_closest_tier_wins_and_must_be_one_of_the_four():
    assert tier_problem(Item(own=[tier("program")], inherited=[tier("unit")])) is None
    assert "tier 'fast': expected one of unit, program, aws, spark" in tier_problem(Item(own=[tier("fast")]))
    assert tier_problem(Item(own=[tier("unit"), tier("spark")])) == "has two tiers"


def test_a_tier_is_declared_with_tier_not_with_its_plain_marker():
    problem = tier_problem(Item(own=[pytest.mark.spark.mark], inherited=[tier("spark")]))
    assert problem == "is marked pytest.mark.spark: declare tiers with pytest.mark.tier('spark')"


@pytest.mark.parametrize(("tier_name", "fixtures", "needed"), [
    ("unit", ["evaluations"], "program"),
    ("program", ["aws", "moto_endpoint"], "aws"),
    ("aws", ["spark", "moto_endpoint"], "spark"),
])
def test_a_tier_lighter_than_its_fixtures_is_refused(tier_name, fixtures, needed):
    problem = tier_problem(Item(own=[tier(tier_name)], fixturenames=fixtures))
    assert problem == f"is tier {tier_name} but its fixtures need tier {needed}"
    assert tier_problem(Item(own=[tier(needed)], fixturenames=fixtures)) is None


def test_a_unit_test_that_evaluates_a_program_says_it_is_a_program_test(tmp_path):
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.export('x', 1)\n")
    with pytest.raises(AssertionError, match=r"is tier unit but evaluates a Pulumi program under mocks: mark it "
                                             r"pytest.mark.tier\('program'\)"):
        run_program("dev", {}, program=tmp_path / "__main__.py", strict=True)


def test_boto3_sessions_of_the_test_process_parse_each_service_model_once():
    """The conftest's shared model cache takes effect (a botocore upgrade that renames its loader cache would
    silently bring back a parse per session)."""
    first, second = boto3.Session(region_name="eu-west-1"), boto3.Session(region_name="eu-west-1")
    first.client("sqs")
    loaders = [session._session.get_component("data_loader") for session in (first, second)]
    assert loaders[0] is not loaders[1], "each session keeps its own loader (its own search paths)"
    assert loaders[1].load_service_model("sqs", "service-2") is loaders[0].load_service_model("sqs", "service-2")
