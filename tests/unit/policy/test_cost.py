import datetime as dt
import socket
from decimal import Decimal

import pytest
from genai_prices import data_snapshot

from sealog.errors import FormatError, InputError, NotFound, UsageError
from sealog.policy.cost import (
    QUANTUM,
    PriceOverrides,
    UnknownModelPrice,
    Usage,
    normalize_usage,
    price,
)

AT = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)

OPENAI_CHAT = {
    "model": "gpt-4o-2024-08-06",
    "usage": {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
}
OPENAI_RESPONSES = {
    "model": "gpt-4.1-2025-04-14",
    "usage": {
        "input_tokens": 12033,
        "input_tokens_details": {"cached_tokens": 11904},
        "output_tokens": 44,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 12077,
    },
}
ANTHROPIC = {
    "model": "claude-sonnet-4-20250514",
    "usage": {
        "input_tokens": 2048,
        "cache_read_input_tokens": 1800,
        "cache_creation_input_tokens": 248,
        "output_tokens": 503,
        "cache_creation": {"ephemeral_5m_input_tokens": 148, "ephemeral_1h_input_tokens": 100},
    },
}
GEMINI = {
    "modelVersion": "gemini-2.5-flash",
    "usageMetadata": {
        "promptTokenCount": 5000,
        "cachedContentTokenCount": 4000,
        "candidatesTokenCount": 200,
        "thoughtsTokenCount": 50,
        "totalTokenCount": 5250,
    },
}


def test_openai_chat_completions_subtracts_cached_from_prompt():
    """OpenAI prompt_tokens include cached_tokens, so uncached input is their difference."""
    assert normalize_usage("openai", OPENAI_CHAT) == Usage(
        "openai", "gpt-4o-2024-08-06", 86, 300, 1920, 0
    )


def test_openai_responses_api_subtracts_cached_from_input():
    """OpenAI Responses input_tokens include input_tokens_details.cached_tokens."""
    assert normalize_usage("openai", OPENAI_RESPONSES) == Usage(
        "openai", "gpt-4.1-2025-04-14", 129, 44, 11904, 0
    )


def test_openai_without_details_has_no_cache():
    """A usage block with no (or null) prompt_tokens_details counts zero cached tokens."""
    raw = {"prompt_tokens": 10, "completion_tokens": 2, "prompt_tokens_details": None}
    assert normalize_usage("openai", raw, model="gpt-4o") == Usage("openai", "gpt-4o", 10, 2)


def test_anthropic_input_already_excludes_cache():
    """Anthropic input_tokens exclude cache reads and writes, so they are kept as reported."""
    assert normalize_usage("anthropic", ANTHROPIC) == Usage(
        "anthropic", "claude-sonnet-4-20250514", 2048, 503, 1800, 248
    )


def test_gemini_usage_metadata_normalizes_cache_and_thoughts():
    """Gemini promptTokenCount includes cached content; thoughts are billed as output."""
    assert normalize_usage("gemini", GEMINI) == Usage(
        "google", "gemini-2.5-flash", 1000, 250, 4000, 0
    )


def test_gemini_snake_case_sdk_shape():
    """The google-genai SDK's snake_case usage_metadata normalizes the same way."""
    raw = {"prompt_token_count": 5000, "cached_content_token_count": 4000}
    raw |= {"candidates_token_count": 200, "thoughts_token_count": 50}
    u = normalize_usage("google", {"usage_metadata": raw}, model="gemini-2.5-flash")
    assert u == Usage("google", "gemini-2.5-flash", 1000, 250, 4000, 0)


@pytest.mark.parametrize(
    ("provider", "raw", "missing"),
    [
        ("openai", {"model": "gpt-4o", "usage": {"completion_tokens": 3}}, "prompt_tokens"),
        ("anthropic", {"model": "claude-3", "usage": {"output_tokens": 3}}, "input_tokens"),
        ("google", {"modelVersion": "g", "usageMetadata": {}}, "promptTokenCount"),
        ("openai", {"usage": {"prompt_tokens": 1, "completion_tokens": 1}}, "model"),
    ],
)
def test_unknown_shape_names_what_is_missing(provider, raw, missing):
    """A payload without a needed field raises InputError naming that field."""
    with pytest.raises(InputError, match=missing):
        normalize_usage(provider, raw)


@pytest.mark.parametrize("bad", [-1, 1.0, "12", True])
def test_bad_token_counts_in_payload_are_input_errors(bad):
    """Negative, float, string or boolean counts from a provider raise InputError."""
    raw = {"model": "claude-3", "usage": {"input_tokens": bad, "output_tokens": 1}}
    with pytest.raises(InputError, match="input_tokens"):
        normalize_usage("anthropic", raw)


def test_more_cached_than_prompt_is_refused():
    """Cached tokens larger than the prompt count they are part of are bad data."""
    raw = {
        "prompt_tokens": 5,
        "completion_tokens": 1,
        "prompt_tokens_details": {"cached_tokens": 9},
    }
    with pytest.raises(InputError, match="cached"):
        normalize_usage("openai", raw, model="gpt-4o")


def test_unsupported_provider_is_usage_error():
    """An unsupported provider name is a bad argument, not bad data."""
    with pytest.raises(UsageError):
        normalize_usage("cohere", {"usage": {}})


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None, False])
def test_usage_refuses_bad_counts(bad):
    """Usage refuses counts that are not integers ≥ 0."""
    with pytest.raises(UsageError):
        Usage("openai", "gpt-4o", input_tokens=bad)


def test_cached_openai_tokens_price_below_uncached():
    """Normalizing OpenAI cached tokens bills them at the cache rate: cheaper than raw input."""
    cached = price(normalize_usage("openai", OPENAI_CHAT), at=AT)
    naive = price(Usage("openai", "gpt-4o-2024-08-06", 2006, 300), at=AT)
    # gpt-4o: $2.50 input, $1.25 cached, $10 output per MTok
    assert cached.usd == Decimal("0.0056150000")
    assert naive.usd == Decimal("0.0080150000")
    assert cached.parts["cache_read"] == Decimal("0.0024000000")


def test_anthropic_cache_read_and_write_priced_separately():
    """Anthropic cache reads ($0.30) and writes ($3.75) are priced beside plain input ($3)."""
    cost = price(normalize_usage("anthropic", ANTHROPIC), at=AT)
    assert dict(cost.parts) == {
        "input": Decimal("0.0061440000"),
        "output": Decimal("0.0075450000"),
        "cache_read": Decimal("0.0005400000"),
        "cache_write": Decimal("0.0009300000"),
    }
    assert cost.usd == sum(cost.parts.values())
    assert cost.source == "genai-prices"
    assert cost.source_version
    assert cost.price_ref == "claude-sonnet-4-0"


def test_gemini_cached_content_changes_price():
    """Gemini cached content is billed at the cache rate once subtracted from the prompt."""
    cost = price(normalize_usage("gemini", GEMINI), at=AT)
    naive = price(Usage("google", "gemini-2.5-flash", 5000, 250), at=AT)
    assert cost.usd < naive.usd
    assert cost.parts["cache_read"] == Decimal("0.0001200000")


def test_override_takes_precedence():
    """An override entry wins over genai-prices for the same provider/model."""
    table = PriceOverrides.from_mapping(
        {
            "openai/gpt-4o": {
                "input_per_mtok": "1",
                "output_per_mtok": "2",
                "cache_read_per_mtok": "0.5",
            }
        }
    )
    cost = price(Usage("openai", "gpt-4o", 1_000_000, 1_000_000, 1_000_000), overrides=table)
    assert cost.usd == Decimal("3.5000000000")
    assert (cost.source, cost.source_version, cost.price_ref) == ("override", None, "openai/gpt-4o")


def test_override_prices_an_unknown_model():
    """A model genai-prices lacks is priced from the override table."""
    table = PriceOverrides.from_mapping(
        {"openai/in-house-7b": {"input_per_mtok": "0.1", "output_per_mtok": "0.2"}}
    )
    assert price(Usage("openai", "in-house-7b", 10, 10), overrides=table).usd == Decimal("3E-6")


def test_unknown_model_is_a_typed_error_not_zero():
    """An unknown model with no override raises UnknownModelPrice, a NotFound."""
    with pytest.raises(UnknownModelPrice) as info:
        price(Usage("openai", "no-such-model-xyz", 1, 1), at=AT)
    assert isinstance(info.value, NotFound)
    assert info.value.code == "unknown-model-price"


def test_override_missing_cache_rate_refuses_cached_usage():
    """An override without a cache rate refuses usage with cache tokens instead of pricing 0."""
    table = PriceOverrides.from_mapping({"x/m": {"input_per_mtok": "1", "output_per_mtok": "1"}})
    assert price(Usage("x", "m", 5, 5), overrides=table).usd == Decimal("0.0000100000")
    with pytest.raises(UnknownModelPrice, match="cache_read"):
        price(Usage("x", "m", 5, 5, cache_read_tokens=1), overrides=table)


def test_pricing_is_offline(monkeypatch):
    """Pricing never opens a connection and ignores any auto-updated price snapshot."""

    def refuse(*_args):
        raise AssertionError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    empty = data_snapshot.DataSnapshot(providers=[], from_auto_update=True)
    monkeypatch.setattr(data_snapshot, "_custom_snapshot", empty)
    cost = price(Usage("anthropic", "claude-sonnet-4-20250514", 1000, 1000), at=AT)
    assert cost.usd == Decimal("0.0180000000")


def test_money_is_decimal_and_json_is_strings():
    """Every amount is a Decimal quantized to 1e-10; JSON carries decimal strings, no float."""
    cost = price(normalize_usage("anthropic", ANTHROPIC), at=AT)
    values = [cost.usd, *cost.parts.values()]
    assert all(type(v) is Decimal and v == v.quantize(QUANTUM) for v in values)
    js = cost.to_json()
    assert js["usd"] == "0.0151590000"
    assert all(isinstance(v, str) for v in js["parts"].values())
    assert js["parts"]["cache_write"] == "0.0009300000"


def test_rounding_is_towards_plus_infinity():
    """A cost below the 1e-10 quantum rounds up, so a budget never sees an understated cost."""
    table = PriceOverrides.from_mapping(
        {"x/m": {"input_per_mtok": "0.00001", "output_per_mtok": "0"}}
    )
    assert price(Usage("x", "m", 1), overrides=table).usd == Decimal("1E-10")


def test_tiered_price_uses_whole_call_input():
    """A long Gemini 2.5 Pro prompt (>200k input incl. cache) is priced at the higher tier."""
    short = price(Usage("google", "gemini-2.5-pro", 100_000), at=AT)
    long = price(Usage("google", "gemini-2.5-pro", 100_000, cache_read_tokens=150_000), at=AT)
    assert short.parts["input"] == Decimal("0.1250000000")
    assert long.parts["input"] == Decimal("0.2500000000")


def test_naive_timestamp_is_usage_error():
    """price(at=) needs a timezone-aware datetime."""
    with pytest.raises(UsageError):
        price(Usage("openai", "gpt-4o", 1), at=dt.datetime(2025, 1, 1))  # noqa: DTZ001


def test_override_yaml_file_reads_floats_as_exact_decimals(tmp_path):
    """A YAML override file loads; unquoted 0.1 becomes Decimal('0.1'), not a float."""
    path = tmp_path / "prices.yaml"
    path.write_text("openai/my-model:\n  input_per_mtok: 0.1\n  output_per_mtok: '0.3'\n")
    rate = PriceOverrides.load(path).rates["openai/my-model"]
    assert rate.input_per_mtok == Decimal("0.1")
    assert type(rate.input_per_mtok) is Decimal


@pytest.mark.parametrize(
    "text",
    [
        "openai/m: [1, 2]\n",
        "openai/m:\n  input_per_mtok: '1'\n",
        "openai/m:\n  input_per_mtok: '1'\n  output_per_mtok: '1'\n  typo_per_mtok: '1'\n",
        "openai/m:\n  input_per_mtok: '-1'\n  output_per_mtok: '1'\n",
        "openai/m:\n  input_per_mtok: abc\n  output_per_mtok: '1'\n",
        "openai/m:\n  input_per_mtok: .inf\n  output_per_mtok: '1'\n",
        "no-slash:\n  input_per_mtok: '1'\n  output_per_mtok: '1'\n",
        "- a list\n",
        "openai/m: {input_per_mtok: '1'\n",
    ],
)
def test_bad_override_file_is_format_error(tmp_path, text):
    """A malformed override file (shape, missing/unknown key, bad amount, bad YAML) is refused."""
    path = tmp_path / "prices.yaml"
    path.write_text(text)
    with pytest.raises(FormatError):
        PriceOverrides.load(path)


def test_missing_override_file_is_format_error(tmp_path):
    """An unreadable override file is a FormatError naming the path."""
    with pytest.raises(FormatError, match=r"nope\.yaml"):
        PriceOverrides.load(tmp_path / "nope.yaml")


def test_float_in_override_mapping_is_refused():
    """A Python float price is refused: prices are decimal strings, never binary floats."""
    with pytest.raises(FormatError, match="decimal string"):
        PriceOverrides.from_mapping({"x/m": {"input_per_mtok": 0.1, "output_per_mtok": "1"}})
