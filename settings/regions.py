"""Whether `aws:region` names a region AWS has, from botocore's endpoint data."""

from __future__ import annotations

import functools
import re

import botocore
from botocore.loaders import create_loader

from .validation import closest


@functools.cache
def partition_regions() -> dict[str, tuple[re.Pattern, tuple[str, ...]]]:
    """Each AWS partition's region name pattern and known regions, from botocore's endpoint data (partitions.json;
    its `aws-global`-style entries, which are not regions, left out)."""
    partitions = {}
    for partition in create_loader().load_data("partitions")["partitions"]:
        pattern = re.compile(partition["regionRegex"])
        partitions[partition["id"]] = (pattern, tuple(r for r in partition["regions"] if pattern.match(r)))
    return partitions


def region_problem(region: str) -> str | None:
    """Why `aws:region` is not a region AWS has (a typo such as eu-wst-1 would fail only at the first AWS call)."""
    partitions = partition_regions()
    partition = next((name for name, (pattern, _) in partitions.items() if pattern.match(region)), None)
    if partition and region in partitions[partition][1]:
        return None
    known = [known for _, regions in partitions.values() for known in regions]
    guess = closest(region, known, cutoff=0.8)
    where = f"not a region of partition {partition}" if partition else "not an AWS region name"
    return (f"aws:region = {region!r}: {where} (botocore {botocore.__version__}'s endpoint data: a region opened "
            f"since needs a newer botocore); "
            + (f"did you mean {guess}?" if guess else f"known regions: {', '.join(sorted(known))}"))
