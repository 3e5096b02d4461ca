"""Streams with a retrieval in them: relay event by event, hold back from our call on, join rounds.

A stream state reads one upstream round event by event. Everything before a ``headroom_retrieve`` call
goes to the client at once; from the call on the rest of the round is held back. When the round ends
the exchange either answers the call and opens a follow-up round (``next_round``: a new state that
carries ids, indices and usage so the client sees one coherent stream), or ends the stream
(``finish``: the held events without our call, one final stop event, usage summed over the rounds).
Each ``Api`` makes its own (``Api.stream_state``); the states know events, not the provider classes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from headroom.integration import TOOL_NAME

from ._sse import Event, event
from ._wire import Call, add_usage


class StreamState:
    """One round of one provider's stream; see the subclasses."""

    def __init__(self) -> None:
        self.retrieving = False  # a headroom_retrieve call was seen in this round
        self.client_calls = False  # the round also calls the client's tools
        self.usage: dict[str, Any] | None = None  # summed over this round and the ones before it

    def feed(self, item: Event) -> list[Event]:
        raise NotImplementedError

    def calls(self) -> list[Call]:
        raise NotImplementedError

    def response(self) -> dict[str, Any]:
        """This round as the provider's non-streaming response (what ``Api.follow_up`` reads)."""
        raise NotImplementedError

    def next_round(self) -> StreamState:
        raise NotImplementedError

    def finish(self) -> list[Event]:
        raise NotImplementedError


def _arguments(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        return {}


class ChatStream(StreamState):
    """OpenAI chat completion chunks (``data: {...}`` lines, ``data: [DONE]`` last)."""

    def __init__(self, first_id: str | None = None, usage: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.first_id = first_id  # the id every chunk carries for the client, from the first round
        self.follow = first_id is not None
        self.usage = usage
        self.held: list[dict[str, Any]] = []
        self.content = ""
        self.ours: dict[int, dict[str, Any]] = {}  # upstream tool call index -> our call being assembled
        self.theirs: dict[int, dict[str, Any]] = {}  # the client's calls, assembled (what ``owe`` keys by)
        self.client_index: dict[int, int] = {}  # upstream index -> the index the client sees
        self.finish_reason: str | None = None
        self.template: dict[str, Any] | None = None  # a chunk's envelope, for the chunks we write

    def feed(self, item: Event) -> list[Event]:
        chunk = item.json()
        if item.data.strip() == "[DONE]" or not isinstance(chunk, dict):
            return [] if item.data.strip() == "[DONE]" else [item]
        self.first_id = self.first_id or chunk.get("id")
        chunk["id"] = self.first_id
        self.template = self.template or {k: v for k, v in chunk.items() if k not in ("choices", "usage")}
        if chunk.get("usage"):
            self.usage = add_usage(self.usage, chunk["usage"])
        chunk.pop("usage", None)
        choices = chunk.get("choices") or []
        if not choices:
            return []  # the usage chunk: one with the total is written at the end
        choice = choices[0]
        delta = choice.get("delta") or {}
        if self.follow:
            delta.pop("role", None)  # the client has its role from the first round
        if isinstance(delta.get("content"), str):
            self.content += delta["content"]
        calls = []
        for call in delta.get("tool_calls") or ():
            index = call.get("index", 0)
            function = call.get("function") or {}
            if function.get("name") == TOOL_NAME or index in self.ours:
                mine = self.ours.setdefault(index, {"id": call.get("id"), "arguments": ""})
                mine["id"] = mine["id"] or call.get("id")
                mine["arguments"] += function.get("arguments") or ""
                self.retrieving = True
            else:
                self.client_calls = True
                blank = {"id": None, "type": "function", "function": {"name": "", "arguments": ""}}
                theirs = self.theirs.setdefault(index, blank)
                theirs["id"] = theirs["id"] or call.get("id")
                theirs["function"]["name"] += function.get("name") or ""
                theirs["function"]["arguments"] += function.get("arguments") or ""
                call["index"] = self.client_index.setdefault(index, len(self.client_index))
                calls.append(call)
        if "tool_calls" in delta:
            if calls:
                delta["tool_calls"] = calls
            else:
                del delta["tool_calls"]
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        if self.retrieving:
            self.held.append(chunk)
            return []
        return [event(chunk)]

    def calls(self) -> list[Call]:
        return [Call(str(c["id"]), c["arguments"]) for c in self.ours.values()]

    def response(self) -> dict[str, Any]:
        every = dict(self.theirs)  # the client's calls too: ``owe`` keys the answers by their ids
        for index, call in self.ours.items():
            function = {"name": TOOL_NAME, "arguments": call["arguments"]}
            every[index] = {"id": call["id"], "type": "function", "function": function}
        calls = [call for _, call in sorted(every.items())]
        message = {"role": "assistant", "content": self.content or None, "tool_calls": calls}
        return {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}

    def next_round(self) -> ChatStream:
        return ChatStream(self.first_id or "", self.usage)

    def finish(self) -> list[Event]:
        out: list[Event] = []
        for chunk in self.held:
            choice = (chunk.get("choices") or [{}])[0]
            if not (choice.get("delta") or {}) and not choice.get("finish_reason"):
                continue  # nothing left once our call is taken out
            if choice.get("finish_reason") == "tool_calls" and not self.client_calls:
                choice["finish_reason"] = "stop"
            out.append(event(chunk))
        if self.usage is not None and self.template is not None:
            out.append(event({**self.template, "choices": [], "usage": self.usage}))
        out.append(Event("[DONE]"))
        return out


class MessagesStream(StreamState):
    """Anthropic message events (``message_start`` ... ``message_stop``)."""

    def __init__(self, first: MessagesStream | None = None) -> None:
        super().__init__()
        self.follow = first is not None
        self.usage: dict[str, Any] | None = first.usage if first else None
        self.next_index: int = first.next_index if first else 0  # content blocks the client has seen
        self.index: dict[int, int] = {}  # upstream block index -> the client's
        self.ours: dict[int, dict[str, Any]] = {}
        self.blocks: dict[int, dict[str, Any]] = {}  # this round's content, for the follow-up request
        self.held: list[Event] = []
        self.stop: dict[str, Any] | None = None  # the message_delta

    def feed(self, item: Event) -> list[Event]:
        data = item.json()
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "message_start":
            # its output_tokens is a partial count that message_delta's total replaces
            start = (data.get("message") or {}).get("usage") or {}
            self.usage = add_usage(self.usage, {k: v for k, v in start.items() if k != "output_tokens"})
            return [] if self.follow else [item]
        if kind == "message_delta":
            self.usage = add_usage(self.usage, {k: v for k, v in (data.get("usage") or {}).items()
                                                if k != "input_tokens" or not self.follow})  # fmt: skip
            self.stop = data
            return []
        if kind == "message_stop":
            return []
        if kind not in ("content_block_start", "content_block_delta", "content_block_stop"):
            return [] if self.retrieving and kind == "ping" else [item]
        upstream = data.get("index", 0)
        if kind == "content_block_start":
            block = data.get("content_block") or {}
            self.blocks[upstream] = copy.deepcopy(block)
            if block.get("type") == "tool_use":
                if block.get("name") == TOOL_NAME:
                    self.ours[upstream] = {"id": block.get("id"), "json": ""}
                    self.retrieving = True
                    return []
                self.client_calls = True
            self.index[upstream] = self.next_index
            self.next_index += 1
        self._collect(upstream, data)
        if upstream in self.ours:
            return []
        data["index"] = self.index.get(upstream, upstream)
        rewritten = event(data, item.event)
        if self.retrieving:
            self.held.append(rewritten)
            return []
        return [rewritten]

    def _collect(self, upstream: int, data: dict[str, Any]) -> None:
        delta = data.get("delta") or {}
        block = self.blocks.get(upstream)
        if data.get("type") != "content_block_delta" or block is None:
            return
        kind = delta.get("type")
        if kind == "input_json_delta":
            block["_json"] = block.get("_json", "") + delta.get("partial_json", "")
            if upstream in self.ours:
                self.ours[upstream]["json"] += delta.get("partial_json", "")
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta.get("citation"))
        else:  # text_delta, thinking_delta, signature_delta and any later kind: its fields appended
            for key, value in delta.items():
                if key != "type" and isinstance(value, str):
                    block[key] = (block.get(key) or "") + value

    def calls(self) -> list[Call]:
        return [Call(str(c["id"]), _arguments(c["json"])) for c in self.ours.values()]

    def response(self) -> dict[str, Any]:
        content = []
        for _, block in sorted(self.blocks.items()):
            block = dict(block)
            if "_json" in block:  # tool_use, server_tool_use, mcp_tool_use: the input streamed as JSON
                block["input"] = _arguments(block.pop("_json"))
            content.append(block)
        return {"content": content, "stop_reason": "tool_use"}

    def next_round(self) -> MessagesStream:
        return MessagesStream(self)

    def finish(self) -> list[Event]:
        stop = copy.deepcopy(self.stop) or {"type": "message_delta", "delta": {"stop_reason": "end_turn"}}
        if (stop.get("delta") or {}).get("stop_reason") == "tool_use" and not self.client_calls:
            stop["delta"]["stop_reason"] = "end_turn"
        if self.usage is not None:
            stop["usage"] = self.usage
        return [*self.held, event(stop, "message_delta"), event({"type": "message_stop"}, "message_stop")]


class ResponsesStream(StreamState):
    """OpenAI Responses events (``response.created`` ... ``response.completed``)."""

    _ENDS = ("response.completed", "response.incomplete", "response.failed")

    def __init__(self, remember: Callable[[str, str], None], first: ResponsesStream | None = None) -> None:
        super().__init__()
        self.remember = remember  # Responses.remember: the id the client sees stands for the last round
        self.follow = first is not None
        self.sequence: int = first.sequence if first else 0
        self.next_output: int = first.next_output if first else 0
        self.shown: list[dict[str, Any]] = list(first.shown) if first else []  # output items the client has
        self.usage: dict[str, Any] | None = first.usage if first else None
        self.output: dict[int, int] = {}  # upstream output_index -> the client's
        self.ours: set[int] = set()
        self.final: dict[str, Any] | None = None  # this round's response from its last event
        self.end_kind = "response.completed"
        self.held: list[Event] = []
        self.first_id: str | None = first.first_id if first else None  # the id the client knows

    def feed(self, item: Event) -> list[Event]:
        data = item.json()
        kind = data.get("type") if isinstance(data, dict) else None
        if kind is None:
            return [item]
        if kind in ("response.created", "response.in_progress", "response.queued"):
            self.first_id = self.first_id or (data.get("response") or {}).get("id")
            return [] if self.follow else [self._numbered(data, item)]
        if kind in self._ENDS:
            self.final = data.get("response") or {}
            self.end_kind = kind
            self.usage = add_usage(self.usage, self.final.get("usage"))
            return []
        upstream = data.get("output_index")
        if kind == "response.output_item.added" and isinstance(upstream, int):
            if _ours(data.get("item")):
                self.ours.add(upstream)
                self.retrieving = True
            else:
                if (data.get("item") or {}).get("type") in ("function_call", "custom_tool_call"):
                    self.client_calls = True
                self.output[upstream] = self.next_output
                self.next_output += 1
        if isinstance(upstream, int):
            if upstream in self.ours:
                return []
            data["output_index"] = self.output.get(upstream, upstream)
            if kind == "response.output_item.done" and isinstance(data.get("item"), dict):
                self.shown.append(data["item"])
        numbered = self._numbered(data, item)
        if self.retrieving:
            self.held.append(numbered)
            return []
        return [numbered]

    def _numbered(self, data: dict[str, Any], item: Event) -> Event:
        if "sequence_number" in data:
            data["sequence_number"] = self.sequence
            self.sequence += 1
        return event(data, item.event)

    def calls(self) -> list[Call]:
        final = self.final or {}
        return [
            Call(str(i.get("call_id")), i.get("arguments")) for i in final.get("output") or () if _ours(i)
        ]

    def response(self) -> dict[str, Any]:
        return self.final or {}

    def next_round(self) -> ResponsesStream:
        return ResponsesStream(self.remember, self)

    def finish(self) -> list[Event]:
        final = dict(self.final or {})
        if self.follow and self.first_id:
            self.remember(self.first_id, str(final.get("id", "")))
            final["id"] = self.first_id  # one identity for the whole stream, as the SDK requires
        final["output"] = self.shown
        if self.usage is not None:
            final["usage"] = self.usage
        end = {"type": self.end_kind, "response": final, "sequence_number": 0}
        return [*self.held, self._numbered(end, Event("", self.end_kind))]


def _ours(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") == TOOL_NAME
