"""Cache busts: which requests made the provider write a cached prefix again, and whose change it was."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest
from headroom.integration import Usage
from headroom_proxy._busts import Bust, attribute, diverges

from .conftest import sdk

# a previous request's record: system, tools, then the history through each of three messages
BEFORE = {"in": ["s", "t", "m1", "m2", "m3"], "out": ["s", "t", "m1", "c2", "c3"], "cached": 9000}


class Found:
    """What the prefix checks report (``CompressResult.volatile``)."""

    def __init__(self, where: str, what: str) -> None:
        self.where, self.what = where, what


def test_divergence_is_the_first_changed_position_within_the_previous_prefix() -> None:
    assert diverges(["a", "b"], ["a", "b", "c"]) is None  # appended to
    assert diverges(["a", "b", "c"], ["a", "x", "c", "d"]) == 1
    assert diverges(["a", "b", "c"], ["a", "b"]) == 2  # the client dropped a message


def test_a_warm_request_and_an_expired_cache_are_nobodys_bust() -> None:
    grown_in, grown_out = [*BEFORE["in"], "m4"], [*BEFORE["out"], "c4"]
    assert attribute(BEFORE, grown_in, grown_out, Usage(10, 9000, 400, 0)) is None  # read all it had
    # nothing changed, yet nothing was read: the cache expired (5 minutes went by)
    assert attribute(BEFORE, grown_in, grown_out, Usage(10, 0, 9400, 0)) is None


def test_a_block_we_rewrote_is_our_bust() -> None:
    """The client sent the same history; we sent message 2 differently (it aged out of the freshness
    rule): the provider read up to it and wrote the rest again."""
    sent_in, sent_out = [*BEFORE["in"], "m4"], ["s", "t", "m1", "c2*", "c3", "c4"]
    found = attribute(BEFORE, sent_in, sent_out, Usage(10, 3000, 6500, 0))
    assert found == Bust("ours", 6000, "write_5m", "message 1")


def test_a_changed_system_prompt_is_the_clients_bust_named() -> None:
    sent_in, sent_out = ["s2", "t", "m1", "m2", "m3"], ["s2", "t", "m1", "c2", "c3"]
    volatile = (Found("system", "timestamp"),)
    found = attribute(BEFORE, sent_in, sent_out, Usage(10, 0, 0, 9100), volatile)
    assert found == Bust("client", 9000, "write_1h", "system prompt (timestamp)")
    # tools reordered by the client; on OpenAI (no writes billed) the re-read is uncached
    found = attribute(BEFORE, ["s", "t2", "m1", "m2", "m3"], ["s", "t2", "m1", "c2", "c3"], Usage(9100, 0))
    assert found == Bust("client", 9000, "uncached", "tools")


def test_the_client_editing_a_message_before_ours_is_its_bust() -> None:
    found = attribute(
        BEFORE, ["s", "t", "m1*", "m2", "m3"], ["s", "t", "m1*", "c2*", "c3"], Usage(10, 500, 8600)
    )
    assert found == Bust("client", 8500, "write_5m", "message 0")


def test_no_bust_without_a_known_cached_prefix() -> None:
    assert attribute({**BEFORE, "cached": 0}, BEFORE["in"], ["x"], Usage(10, 0, 9000)) is None
    assert attribute({"in": [], "out": []}, BEFORE["in"], ["x"], Usage(10, 0, 9000)) is None


@pytest.fixture
def money(fresh_stack: Any) -> Any:
    return lambda: httpx.get(f"{fresh_stack.proxy.url}/stats").json()["money"]


def test_a_session_through_the_proxy_tells_our_busts_from_the_clients(
    kit: Any, fresh_stack: Any, money: Any
) -> None:
    """A fake Anthropic with a prompt cache: the log result ages out of the freshness rule (we rewrite
    a block the client did not change: ours), then the client puts a timestamp in its system prompt."""
    stack = fresh_stack
    stack.fake.prompt_cache = True
    client = sdk(anthropic.Anthropic, base_url=stack.proxy.url, api_key="k", max_retries=0)
    messages = kit.anthropic_messages(kit.app_log(seed=11))
    system = "You are a careful SRE."
    sent: list[Any] = []
    for turn in range(8):  # until the log result is compressed in what goes upstream
        client.messages.create(model="claude-opus-4-5", max_tokens=50, system=system, messages=messages)
        sent.append(stack.fake.bodies("/v1/messages")[-1]["messages"][2])
        kit.proxy_requests(stack, turn + 1)
        if sent[-1] != sent[0]:
            break
        messages = [*messages, {"role": "assistant", "content": [{"type": "tool_use", "id": f"s{turn}",
                    "name": "status", "input": {}}]}, {"role": "user", "content": [{"type": "tool_result",
                    "tool_use_id": f"s{turn}", "content": f"ok {turn}"}]}]  # fmt: skip
    assert sent[-1] != sent[0], "the log result never aged out"
    after_ours = money()
    assert after_ours["our_busts"] == 1
    assert after_ours["client_busts"] == 0
    assert after_ours["our_bust_usd"] > 0
    assert after_ours["net_saved"] == pytest.approx(
        after_ours["at_cache_mix"] + after_ours["at_list_price"] - after_ours["our_bust_usd"], abs=1e-6
    )
    # the next request changes nothing of ours: no bust
    messages = [*messages, {"role": "assistant", "content": "checking"}, {"role": "user", "content": "go on"}]
    client.messages.create(model="claude-opus-4-5", max_tokens=50, system=system, messages=messages)
    kit.proxy_requests(stack, len(sent) + 1)
    assert money()["our_busts"] == 1
    # the client's own change: a timestamp in the system prompt
    messages = [*messages, {"role": "assistant", "content": "done"}, {"role": "user", "content": "thanks"}]
    client.messages.create(model="claude-opus-4-5", max_tokens=50, messages=messages,
                           system=f"{system} Current time: 2026-12-03T21:14:07Z")  # fmt: skip
    kit.proxy_requests(stack, len(sent) + 2)
    final = money()
    assert (final["our_busts"], final["client_busts"]) == (1, 1)
    assert final["client_bust_usd"] > 0
    assert final["net_saved"] == pytest.approx(after_ours["net_saved"] + final["at_cache_mix"]
                                               - after_ours["at_cache_mix"], abs=1e-6)  # fmt: skip
    events = stack.headroom.stats(panels=True)["panels"]
    [named] = events["client_busts"]
    assert named["requests"] == 1
    assert named["named"] == "system prompt (timestamp)", named  # named by the prefix checks


def test_another_key_never_finds_a_conversations_record(kit: Any, fresh_stack: Any, money: Any) -> None:
    """The same history under another API key is another conversation: nothing to compare, no bust."""
    fresh_stack.fake.prompt_cache = True
    messages = kit.anthropic_messages(kit.app_log(seed=12))
    for number, key in enumerate(("key-a", "key-b"), start=1):
        client = sdk(anthropic.Anthropic, base_url=fresh_stack.proxy.url, api_key=key, max_retries=0)
        client.messages.create(model="claude-opus-4-5", max_tokens=50, system=f"prompt {key}",
                               messages=messages)  # fmt: skip
        kit.proxy_requests(fresh_stack, number)
    assert money()["client_busts"] == money()["our_busts"] == 0
