"""The committed price snapshot (automation/prices/<region>.json) and its refresh from AWS's Price List.

Each price names the offer file it comes from (offer code, usage type, unit), so `refresh` can replace it with the
public bulk offer file's first paid tier (the model applies no free tier). A price the offer file does not have in
the expected unit is kept as it was and reported: the snapshot never loses a price, and never changes units.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PRICES_DIR = Path(__file__).resolve().parent / "prices"
PRICE_LIST = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/{offer}/current/{region}/index.json"
FETCH_TIMEOUT_SECONDS = 120


class PricesError(RuntimeError):
    """A snapshot that cannot be read, or a price list that cannot be fetched: one line saying which and why."""


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str
    offer: str
    usagetype: str


@dataclass(frozen=True)
class PriceBook:
    region: str
    taken: str
    path: Path
    prices: dict[str, Price]

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]


def snapshot_path(region: str) -> Path:
    return PRICES_DIR / f"{region}.json"


def load(path: Path) -> PriceBook:
    try:
        data = json.loads(path.read_text())
        prices = {key: Price(key=key, usd=float(entry["usd"]), unit=entry["unit"], offer=entry["offer"],
                             usagetype=entry["usagetype"]) for key, entry in data["prices"].items()}
        return PriceBook(region=data["region"], taken=data["taken"], path=path, prices=prices)
    except FileNotFoundError:
        raise PricesError(f"no price snapshot {path} (regions with one: "
                          f"{', '.join(sorted(p.stem for p in PRICES_DIR.glob('*.json'))) or 'none'})") from None
    except (ValueError, KeyError, TypeError) as error:
        raise PricesError(f"price snapshot {path} is malformed: {error!r}") from None


def first_paid_tier(offer: dict[str, Any], usagetype: str, unit: str) -> float | None:
    """USD per `unit` of `usagetype` in a bulk offer file (products -> sku; terms.OnDemand[sku] -> price
    dimensions): the lowest tier with a price above zero, or None when the file has no such usage in that unit."""
    paid = []
    for sku, product in (offer.get("products") or {}).items():
        if (product.get("attributes") or {}).get("usagetype") != usagetype:
            continue
        for term in ((offer.get("terms") or {}).get("OnDemand") or {}).get(sku, {}).values():
            for dimension in (term.get("priceDimensions") or {}).values():
                usd = float((dimension.get("pricePerUnit") or {}).get("USD", 0))
                if dimension.get("unit") == unit and usd > 0:
                    paid.append((float(dimension.get("beginRange", 0)), usd))
    return min(paid)[1] if paid else None


def fetch_offer(url: str) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310 (fixed https URL)
            return json.loads(response.read())
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PricesError(f"cannot fetch the AWS price list {url}: {reason}") from None
    except ValueError as error:
        raise PricesError(f"the AWS price list {url} is not JSON: {error}") from None


@dataclass
class Refresh:
    updated: dict[str, tuple[float, float]]
    kept: list[str]
    published: dict[str, str]

    def lines(self) -> Iterable[str]:
        for key, (old, new) in sorted(self.updated.items()):
            yield f"{key}: {old:g} -> {new:g} USD" if old != new else f"{key}: {new:g} USD (unchanged)"
        for key in self.kept:
            yield f"{key}: not in the offer file in its unit: kept the snapshot's price"
        for offer, published in sorted(self.published.items()):
            yield f"offer file {offer}: published {published}"


def refresh(path: Path, fetch: Callable[[str], dict[str, Any]] | None = None, price_list: str = "") -> Refresh:
    """Rewrite the snapshot at `path` from the offer files of its region (`price_list`: the URL pattern, default
    AWS's); nothing is written when a fetch fails."""
    fetch, price_list = fetch or fetch_offer, price_list or PRICE_LIST
    data = json.loads(path.read_text())
    region, entries = data["region"], data["prices"]
    offers = {offer: fetch(price_list.format(offer=offer, region=region))
              for offer in sorted({entry["offer"] for entry in entries.values()})}
    result = Refresh(updated={}, kept=[], published={})
    for key, entry in entries.items():
        usd = first_paid_tier(offers[entry["offer"]], entry["usagetype"], entry["unit"])
        if usd is None:
            result.kept.append(key)
            continue
        result.updated[key] = (float(entry["usd"]), usd)
        published = offers[entry["offer"]].get("publicationDate", "unknown")
        result.published[entry["offer"]] = published
        entry.update(usd=usd, checked=f"{price_list.format(offer=entry['offer'], region=region)} "
                                      f"(published {published})")
    data["taken"] = datetime.now(UTC).strftime("%Y-%m-%d")
    data["how"] = (f"{len(result.updated)} price(s) from the AWS Price List offer files"
                   + (f"; kept by hand: {', '.join(result.kept)}" if result.kept else ""))
    path.write_text(json.dumps(data, indent=2) + "\n")
    return result
