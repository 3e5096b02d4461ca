from __future__ import annotations

import dataclasses

import pytest
from headroom import Config, ConfigError


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HEADROOM_STORE")
    config = Config()
    assert config.store == "sqlite"
    assert config.ttl_seconds == 30 * 24 * 3600
    assert config.max_store_bytes == 1 << 30
    assert config.min_tokens == 300
    assert config.min_saving == 0.15
    assert config.include_tools == ("*",)
    assert config.exclude_tools == ()
    assert config.compress_user_messages is False
    assert config.max_context_tokens is None
    assert config.keep_last_turns == 4
    assert config.tokenizer == "o200k_base"
    assert config.ledger is True
    assert config.cache_bytes == 256 << 20


@pytest.mark.parametrize(
    ("variable", "raw", "field", "expected"),
    [
        ("STORE", "memory", "store", "memory"),
        ("TTL_SECONDS", "60", "ttl_seconds", 60),
        ("MAX_STORE_BYTES", "1024", "max_store_bytes", 1024),
        ("MIN_TOKENS", "0", "min_tokens", 0),
        ("MIN_SAVING", "0.5", "min_saving", 0.5),
        ("INCLUDE_TOOLS", "read_*, grep", "include_tools", ("read_*", "grep")),
        ("EXCLUDE_TOOLS", "secret_*", "exclude_tools", ("secret_*",)),
        ("COMPRESS_USER_MESSAGES", "yes", "compress_user_messages", True),
        ("MAX_CONTEXT_TOKENS", "100000", "max_context_tokens", 100000),
        ("MAX_CONTEXT_TOKENS", "none", "max_context_tokens", None),
        ("KEEP_LAST_TURNS", "2", "keep_last_turns", 2),
        ("TOKENIZER", "cl100k_base", "tokenizer", "cl100k_base"),
        ("LEDGER", "false", "ledger", False),
        ("TIME_BUDGET", "2.5", "time_budget", 2.5),
        ("OFFLOAD_CHARS", "0", "offload_chars", 0),
        ("CACHE_BYTES", "0", "cache_bytes", 0),
    ],
)
def test_every_field_reads_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, raw: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(f"HEADROOM_{variable}", raw)
    assert getattr(Config(), field) == expected


def test_every_field_has_a_variable() -> None:
    names = {field.name for field in dataclasses.fields(Config)}
    assert names == {
        "store", "ttl_seconds", "max_store_bytes", "min_tokens", "min_saving", "include_tools",
        "exclude_tools", "compress_user_messages", "max_context_tokens", "keep_last_turns", "tokenizer",
        "ledger", "align_cache", "time_budget", "offload_chars", "fresh_turns", "fresh_batch",
        "fresh_batch_tokens", "view_turns", "fresh_max_tokens", "cache_bytes",
    }  # fmt: skip


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_MIN_TOKENS", "5")
    assert Config(min_tokens=7).min_tokens == 7


def test_an_invalid_variable_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEADROOM_MIN_SAVING", "a lot")
    with pytest.raises(ConfigError, match="HEADROOM_MIN_SAVING"):
        Config()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_saving": 1.0},
        {"ttl_seconds": -1},
        {"max_store_bytes": 0},
        {"max_context_tokens": 0},
        {"store": " "},
        {"cache_bytes": -1},
    ],
)
def test_invalid_values_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Config(**kwargs)  # type: ignore[arg-type]


def test_config_is_frozen_and_hashable() -> None:
    config = Config(include_tools=["a", "b"])  # type: ignore[arg-type]
    assert config.include_tools == ("a", "b")
    assert hash(config) == hash(Config(include_tools=("a", "b")))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.min_tokens = 1  # type: ignore[misc]
