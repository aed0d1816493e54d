"""Token usage to USD, so budgets (``max_cost_per_*``) compare like with like.

:func:`normalize_usage` makes ``input_tokens`` mean *uncached* input for every provider (OpenAI
and Gemini count cached tokens inside their prompt count, Anthropic beside it); :func:`price`
prices a :class:`Usage` from the project's override table, else genai-prices' bundled data
(never fetched; see ``docs/cost.md``). An unknown price raises, never a silent $0, so it cannot
pass a budget gate. Money is :class:`~decimal.Decimal`, and a decimal string in JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import functools
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

import genai_prices
import yaml
from genai_prices import data as _gp_data
from genai_prices import types as _gp_types
from genai_prices.data_snapshot import DataSnapshot

from sealog.errors import FormatError, InputError, NotFound, UsageError

__all__ = ["QUANTUM", "Cost", "ModelRate", "PriceOverrides", "UnknownModelPrice", "Usage", "price"]
__all__ += ["normalize_usage"]

QUANTUM = Decimal("1e-10")
"""Costs are rounded to this many USD, towards +∞, so a budget never sees an understated cost."""

_MTOK = Decimal(1_000_000)
_PARTS = ("input", "output", "cache_read", "cache_write")
_PROVIDERS = {"openai": "openai", "anthropic": "anthropic", "google": "google", "gemini": "google"}
_Rates = tuple[Decimal | None, Decimal | None, Decimal | None, Decimal | None]
_Source = tuple[Literal["override", "genai-prices"], str | None, str]


class UnknownModelPrice(NotFound):
    """No price is known for a model, in the override table or in genai-prices.

    A :class:`~sealog.errors.NotFound`: nothing is malformed, a price is missing (add an override).
    """

    code = "unknown-model-price"


@dataclasses.dataclass(frozen=True)
class Usage:
    """Token counts of one model call; ``input_tokens`` excludes cache reads and writes."""

    provider: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __post_init__(self) -> None:
        """Refuse empty names and counts that are not integers ≥ 0."""
        if not self.provider or not self.model:
            raise UsageError("Usage needs a provider and a model")
        for name, value in zip(_PARTS, self.counts, strict=True):
            if type(value) is not int or value < 0:
                raise UsageError(f"Usage.{name}_tokens must be an integer ≥ 0, got {value!r}")

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """The counts in ``input, output, cache_read, cache_write`` order."""
        return (
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
        )


@dataclasses.dataclass(frozen=True)
class Cost:
    """The USD cost of one :class:`Usage`, its breakdown and where the prices came from."""

    usd: Decimal
    parts: Mapping[str, Decimal]
    source: Literal["override", "genai-prices"]
    source_version: str | None
    price_ref: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; every amount is a decimal string, never a float."""
        return {
            "usd": format(self.usd, "f"),
            "parts": {name: format(value, "f") for name, value in self.parts.items()},
            "source": self.source,
            "source_version": self.source_version,
            "price_ref": self.price_ref,
        }


@dataclasses.dataclass(frozen=True)
class ModelRate:
    """USD per million tokens of each kind; ``None`` means the rate is not known."""

    input_per_mtok: Decimal
    output_per_mtok: Decimal
    cache_read_per_mtok: Decimal | None = None
    cache_write_per_mtok: Decimal | None = None


@dataclasses.dataclass(frozen=True)
class PriceOverrides:
    """A project's price table, keyed ``provider/model``; it wins over genai-prices."""

    rates: Mapping[str, ModelRate]

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<overrides>") -> PriceOverrides:
        """Build from ``{provider/model: {input_per_mtok: "2.50", ...}}`` (decimal strings).

        Raises:
            FormatError: the table is not of that shape, or a price is not a decimal ≥ 0.
        """
        if not isinstance(data, Mapping):
            raise FormatError(f"{source}: the price table must be a mapping of provider/model")
        rates: dict[str, ModelRate] = {}
        for key, entry in data.items():
            if not isinstance(key, str) or "/" not in key or not isinstance(entry, Mapping):
                raise FormatError(f"{source}: {key!r}: expected 'provider/model: {{rates}}'")
            values = {str(n): _money(f"{source}: {key}.{n}", v) for n, v in entry.items()}
            try:
                rates[key.lower()] = ModelRate(**values)
            except TypeError as exc:  # an unknown rate name, or a required one missing
                raise FormatError(f"{source}: {key}: {exc}") from exc
        return cls(MappingProxyType(rates))

    @classmethod
    def load(cls, path: str | Path) -> PriceOverrides:
        """Load the table from a YAML (or JSON) file; YAML floats are read as exact decimals.

        Raises:
            FormatError: the file cannot be read or parsed, or its table is invalid.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
            data = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 - a SafeLoader subclass
        except (OSError, UnicodeDecodeError, yaml.YAMLError, decimal.InvalidOperation) as exc:
            raise FormatError(f"{path}: cannot read the price table: {exc}") from exc
        return cls.from_mapping(data, source=str(path))


# A safe YAML loader that reads ``2.5`` as ``Decimal("2.5")``, so no float is ever made.
_DecimalLoader: Any = type("_DecimalLoader", (yaml.SafeLoader,), {})
_DecimalLoader.add_constructor(
    "tag:yaml.org,2002:float",
    lambda loader, node: Decimal(str(loader.construct_scalar(node)).replace("_", "")),
)


def _money(where: str, value: object) -> Decimal:
    """A finite decimal ≥ 0 from a string, int or Decimal; floats are refused (inexact)."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise FormatError(f"{where}: expected a decimal string, got {value!r}")
    try:
        amount = Decimal(value)
    except decimal.InvalidOperation as exc:
        raise FormatError(f"{where}: not a decimal: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise FormatError(f"{where}: expected a finite amount ≥ 0, got {value!r}")
    return amount


def _count(where: str, payload: Mapping[str, Any], *keys: str, required: bool = False) -> int:
    """The first present key of ``keys`` as an integer ≥ 0 (absent or null → 0)."""
    for key in keys:
        if (value := payload.get(key)) is not None:
            if type(value) is not int or value < 0:
                raise InputError(f"{where}.{key} must be an integer ≥ 0, got {value!r}")
            return value
    if required:
        raise InputError(f"{where}: missing {' or '.join(keys)}")
    return 0


def _section(payload: Mapping[str, Any], *keys: str) -> Mapping[str, Any]:
    """The nested mapping under the first key present (a whole response), else the payload."""
    inner = [payload[k] for k in keys if isinstance(payload.get(k), Mapping)]
    return cast("Mapping[str, Any]", inner[0]) if inner else payload


def normalize_usage(provider: str, raw: Mapping[str, Any], *, model: str | None = None) -> Usage:
    """Turn a provider's usage payload (or whole response) into a :class:`Usage`.

    ``provider`` is ``openai`` (Chat Completions or Responses), ``anthropic`` (Messages) or
    ``google``/``gemini`` (``usageMetadata``, camelCase or snake_case). ``model`` defaults to
    the response's ``model`` / ``modelVersion``.

    Raises:
        UsageError: ``provider`` is not supported.
        InputError: the payload lacks a needed field, or a count is not an integer ≥ 0.
    """
    pid = _PROVIDERS.get(str(provider).lower())
    if pid is None:
        raise UsageError(f"unsupported provider {provider!r}; use one of {sorted(_PROVIDERS)}")
    if not isinstance(cast("object", raw), Mapping):
        raise InputError(f"{pid} usage must be a JSON object, got {type(raw).__name__}")
    model = model or raw.get("model") or raw.get("modelVersion") or raw.get("model_version")
    if not isinstance(model, str) or not model:
        raise InputError(f"{pid} response has no model name: pass model=")
    if pid == "anthropic":  # input_tokens already excludes cache reads and writes
        u, names = (
            _section(raw, "usage"),
            ("input", "output", "cache_read_input", "cache_creation_input"),
        )
        n = [_count("usage", u, f"{k}_tokens", required=k in {"input", "output"}) for k in names]
        return Usage(pid, model, n[0], n[1], n[2], n[3])
    if pid == "openai":  # prompt_tokens / input_tokens include the cached_tokens
        u = _section(raw, "usage")
        chat = "prompt_tokens" in u or "input_tokens" not in u
        keys = ("prompt", "completion") if chat else ("input", "output")
        total = _count("usage", u, f"{keys[0]}_tokens", required=True)
        output = _count("usage", u, f"{keys[1]}_tokens", required=True)
        details = u.get(f"{keys[0]}_tokens_details") or {}
        if not isinstance(details, Mapping):
            raise InputError(f"usage.{keys[0]}_tokens_details must be an object")
        cached = _count(f"usage.{keys[0]}_tokens_details", details, "cached_tokens")
    else:
        u, where = _section(raw, "usageMetadata", "usage_metadata"), "usageMetadata"
        total = _count(where, u, "promptTokenCount", "prompt_token_count", required=True)
        total += _count(where, u, "toolUsePromptTokenCount", "tool_use_prompt_token_count")
        cached = _count(where, u, "cachedContentTokenCount", "cached_content_token_count")
        output = _count(where, u, "candidatesTokenCount", "candidates_token_count")
        output += _count(where, u, "thoughtsTokenCount", "thoughts_token_count")
    if cached > total:  # cached tokens are a part of the input: more is bad data
        raise InputError(f"{pid} usage reports {cached} cached of only {total} input tokens")
    return Usage(pid, model, total - cached, output, cached, 0)


@functools.cache
def _bundled() -> DataSnapshot:
    """genai-prices' bundled data, ignoring any snapshot a price auto-updater installed."""
    return DataSnapshot(providers=_gp_data.providers, from_auto_update=False)


def price(
    usage: Usage, *, overrides: PriceOverrides | None = None, at: dt.datetime | None = None
) -> Cost:
    """The USD cost of ``usage``: the override table first, else genai-prices' bundled data.

    ``at`` (timezone-aware, default now) picks the price in force then, for dated price changes.

    Raises:
        UsageError: ``at`` is naive, or ``usage`` is not a :class:`Usage`.
        UnknownModelPrice: no price is known for the model (or for a token kind it used).
    """
    if not isinstance(cast("object", usage), Usage):
        raise UsageError(f"price() needs a Usage, got {type(usage).__name__}")
    when = cast("object", at)
    if when is not None and (not isinstance(when, dt.datetime) or when.utcoffset() is None):
        raise UsageError("price(at=...) must be a timezone-aware datetime")
    ref = f"{usage.provider}/{usage.model}".lower()
    if overrides is not None and ref in overrides.rates:
        r = overrides.rates[ref]
        rates = (r.input_per_mtok, r.output_per_mtok, r.cache_read_per_mtok, r.cache_write_per_mtok)
        return _cost(usage, rates, None, ("override", None, ref))
    total_in = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    lib_usage = genai_prices.Usage(
        input_tokens=total_in,  # genai-prices counts cache reads and writes inside input
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    try:
        calc = _bundled().calc(
            lib_usage, usage.model, usage.provider, None, at or dt.datetime.now(tz=dt.UTC)
        )
    except LookupError as exc:
        hint = "add it to the project's price override table"
        raise UnknownModelPrice(f"no price known for {ref}", hint=hint) from exc
    except ValueError as exc:
        raise InputError(f"genai-prices refused the usage of {ref}: {exc}") from exc
    inp, out, read, write = (
        _rate(getattr(calc.model_price, f"{k}_mtok"), total_in) for k in _PARTS
    )
    # With no cache rate genai-prices bills those tokens as plain input; the breakdown agrees.
    found = (inp, out, inp if read is None else read, inp if write is None else write)
    source: _Source = ("genai-prices", genai_prices.__version__, calc.model.id)
    return _cost(usage, found, _dec(calc.total_price), source)


def _rate(value: object, total_input_tokens: int) -> Decimal | None:
    """A per-MTok rate; a tiered rate resolves as genai-prices does (the whole call's tier)."""
    if isinstance(value, _gp_types.TieredPrices):  # its tiers are sorted by start
        above = [tier.price for tier in value.tiers if total_input_tokens > tier.start]
        return _dec(above[-1] if above else value.base)
    return None if value is None else _dec(value)


def _dec(value: object) -> Decimal:
    """A Decimal from the price library's value; a float goes through ``str`` to stay exact."""
    if isinstance(value, Decimal | int | float | str) and not isinstance(value, bool):
        return Decimal(str(value))  # str() of a float is its shortest repr, not its binary value
    raise InputError(f"genai-prices returned a non-numeric price {value!r}")


def _cost(usage: Usage, rates: _Rates, library_total: Decimal | None, source: _Source) -> Cost:
    """Price each token kind, reconcile with the library's total, and round up to QUANTUM."""
    exact: dict[str, Decimal] = {}
    with decimal.localcontext(prec=60):
        for name, count, rate in zip(_PARTS, usage.counts, rates, strict=True):
            if count and rate is None:
                hint = f"add {name}_per_mtok to its entry in the price override table"
                raise UnknownModelPrice(f"no {name} price known for {source[2]}", hint=hint)
            exact[name] = rate * count / _MTOK if count and rate is not None else Decimal(0)
        total = sum(exact.values(), Decimal(0))
        if library_total is not None and library_total != total:
            exact["other"] = library_total - total  # e.g. a per-request fee the library adds
            total = library_total
        parts = {k: v.quantize(QUANTUM, rounding=decimal.ROUND_CEILING) for k, v in exact.items()}
        usd = total.quantize(QUANTUM, rounding=decimal.ROUND_CEILING)
    return Cost(usd, MappingProxyType(parts), *source)
