"""The three provider APIs the proxy compresses, each as one small class: every provider difference.

An ``Api`` knows where its conversation sits in a request body (messages, system prompt, tools), how
the retrieve tool is defined for it, how to find ``headroom_retrieve`` calls in a response and take them
out, how to build the follow-up request that carries their answers, how a response joined from several
rounds is shown, how its usage adds up, which stream state reads its events (``_streams``), and what
its errors look like, in a body or at the end of a stream. The loops in ``_exchange`` are written once
against this interface and never ask which provider they serve.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
from headroom.integration import TOOL_NAME, ToolFormat

from ._sse import Event, event
from ._state import Thread, prefix_digests
from ._streams import ChatStream, MessagesStream, ResponsesStream, StreamState
from ._wire import Call


class Api:
    """What differs between the providers; see the subclasses."""

    name = ""
    tool_format: ToolFormat = "openai"

    # --- the request -------------------------------------------------------------------------------------

    def conversation(self, body: dict[str, Any]) -> tuple[Any, Any]:
        """(messages or input items, separate system prompt) of a request; messages None: nothing to do."""
        raise NotImplementedError

    def with_conversation(self, body: dict[str, Any], messages: Any, system: Any) -> dict[str, Any]:
        raise NotImplementedError

    def with_tool(self, body: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the retrieve tool appended last (once), so its bytes never move; not when the
        client lists one that reaches the same store through MCP (``mcp__headroom__headroom_retrieve``,
        the server ``wrap`` registers): the model sees one retrieve tool, and markers still lead to it."""
        tools = body.get("tools")
        tools = list(tools) if isinstance(tools, list) else []
        if any(_retrieves(t) for t in tools):
            return body
        return {**body, "tools": [*tools, tool]}

    def with_instruction(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        """``body`` with ``text`` appended at the end of its system prompt (one made when it has none)."""
        raise NotImplementedError

    # --- the response ------------------------------------------------------------------------------------

    def calls(self, data: dict[str, Any]) -> tuple[list[Call], bool]:
        """The ``headroom_retrieve`` calls in a response, and whether it calls the client's tools too."""
        raise NotImplementedError

    def strip(self, data: dict[str, Any]) -> dict[str, Any]:
        """The response without our calls (the client never sees one)."""
        raise NotImplementedError

    def follow_up(self, body: dict[str, Any], data: dict[str, Any], calls: list[Call],
                  answers: list[str]) -> dict[str, Any]:  # fmt: skip
        """The next request: this one, the model's turn with our calls, and their answers."""
        raise NotImplementedError

    def owe(self, data: dict[str, Any], calls: list[Call], answers: list[str], thread: Thread) -> None:
        """Our calls were taken out of a response the client gets (it also calls the client's tools):
        keep them with their answers (``thread.keep``), to put back into the history the client sends
        next. The key is the conversation so far and the credential (``_state``)."""

    def recalls(self, body: dict[str, Any]) -> bool:
        """Whether ``settle`` could change ``body`` (cheap: a small request skips the store)."""
        return False

    def settle(self, body: dict[str, Any], thread: Thread) -> dict[str, Any]:
        """``body`` with the calls of ours that its history lost (see ``owe``) put back, answered:
        the same insertion on every later request, so the prefix stays stable. Blocking (it reads the
        store): called on a worker thread."""
        return body

    def as_first(self, data: dict[str, Any], first_id: str | None, thread: Thread) -> dict[str, Any]:
        """A response joined from several retrieval rounds (``data``: the last), as the client sees it."""
        return data

    def stream_state(self, thread: Thread) -> StreamState:
        """A reader for the first round of this API's event stream."""
        raise NotImplementedError

    def usage_of(self, data: dict[str, Any]) -> Any:
        return data.get("usage")

    def with_usage(self, data: dict[str, Any], usage: dict[str, Any] | None) -> dict[str, Any]:
        return data if usage is None else {**data, "usage": usage}

    def error(self, status: int, message: str, kind: str) -> dict[str, Any]:
        """An error body in the provider's own shape."""
        return {"error": {"message": message, "type": kind, "param": None, "code": None}}

    def error_event(self, message: str) -> bytes:
        """The event that ends a stream the upstream broke off, as the provider's SDK reads it."""
        return Event(orjson.dumps(self.error(502, message, "api_error")).decode(), "error").encode()


def _appended(prompt: Any, text: str) -> Any:
    """A system prompt (a string or a list of text blocks) with ``text`` after everything in it: the
    bytes before stay as they were, so does the cached prefix."""
    if isinstance(prompt, list):
        return [*prompt, {"type": "text", "text": text}]
    if isinstance(prompt, str) and prompt:
        return f"{prompt}\n\n{text}"
    return text if prompt in (None, "") else prompt


def _retrieves(tool: Any) -> bool:
    """Our retrieve tool, or an MCP client's name for it listed in full (a deferred tool, which the
    model must look up before it can call it, does not count)."""
    name = _tool_name(tool)
    if not isinstance(name, str):
        return False
    return name == TOOL_NAME or (name.endswith(f"__{TOOL_NAME}") and tool.get("defer_loading") is not True)


def _tool_name(tool: Any) -> Any:
    if not isinstance(tool, dict):
        return None
    function = tool.get("function")
    return function.get("name") if isinstance(function, dict) else tool.get("name")


class ChatCompletions(Api):
    """OpenAI ``POST /v1/chat/completions``."""

    name = "openai_chat"
    tool_format: ToolFormat = "openai"

    def conversation(self, body: dict[str, Any]) -> tuple[Any, Any]:
        messages = body.get("messages")
        return (messages if isinstance(messages, list) else None), None

    def with_conversation(self, body: dict[str, Any], messages: Any, system: Any) -> dict[str, Any]:
        return {**body, "messages": messages}

    def with_instruction(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return body
        first = messages[0] if messages else None
        if isinstance(first, dict) and first.get("role") in ("system", "developer"):
            return {
                **body,
                "messages": [{**first, "content": _appended(first.get("content"), text)}, *messages[1:]],
            }
        return {**body, "messages": [{"role": "system", "content": text}, *messages]}

    def calls(self, data: dict[str, Any]) -> tuple[list[Call], bool]:
        ours: list[Call] = []
        client = False
        for call in _chat_message(data).get("tool_calls") or ():
            function = call.get("function") or {}
            if function.get("name") == TOOL_NAME:
                ours.append(Call(str(call.get("id")), function.get("arguments")))
            else:
                client = True
        return ours, client

    def strip(self, data: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(data)
        for choice in out.get("choices") or ():
            message = choice.get("message") or {}
            kept = [
                c
                for c in message.get("tool_calls") or ()
                if (c.get("function") or {}).get("name") != TOOL_NAME
            ]
            if message.get("tool_calls") is not None:
                message["tool_calls"] = kept or None
                if not kept and choice.get("finish_reason") == "tool_calls":
                    choice["finish_reason"] = "stop"
        return out

    def stream_state(self, thread: Thread) -> StreamState:
        return ChatStream()

    def recalls(self, body: dict[str, Any]) -> bool:
        messages = body.get("messages")
        return isinstance(messages, list) and any(_chat_ids(m) for m in messages)

    def owe(self, data: dict[str, Any], calls: list[Call], answers: list[str], thread: Thread) -> None:
        tool_calls = [c for c in _chat_message(data).get("tool_calls") or () if isinstance(c, dict)]
        ours = [c for c in tool_calls if (c.get("function") or {}).get("name") == TOOL_NAME]
        theirs = [str(c.get("id")) for c in tool_calls if c not in ours]
        results = [
            {"role": "tool", "tool_call_id": c.id, "content": a} for c, a in zip(calls, answers, strict=True)
        ]
        if thread.history is not None and theirs:
            *_, (_, digest) = prefix_digests(thread.history)
            thread.keep(thread.key(self.name, digest, *sorted(theirs)), {"calls": ours, "results": results})

    def settle(self, body: dict[str, Any], thread: Thread) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return body
        wanted = _owed_keys(self.name, messages, thread, _chat_ids)
        found = thread.recall(list(wanted.values())) if wanted else {}
        if not found:
            return body
        out: list[Any] = []
        for index, message in enumerate(messages):
            owed = found.get(wanted.get(index, ""))
            if not isinstance(owed, dict):
                out.append(message)
                continue
            out += [{**message, "tool_calls": [*message["tool_calls"], *owed["calls"]]}, *owed["results"]]
        return {**body, "messages": out}

    def follow_up(self, body: dict[str, Any], data: dict[str, Any], calls: list[Call],
                  answers: list[str]) -> dict[str, Any]:  # fmt: skip
        message = _chat_message(data)
        ours = [
            c for c in message.get("tool_calls") or () if (c.get("function") or {}).get("name") == TOOL_NAME
        ]
        turn = {"role": "assistant", "content": message.get("content"), "tool_calls": ours}
        results = [
            {"role": "tool", "tool_call_id": c.id, "content": a} for c, a in zip(calls, answers, strict=True)
        ]
        return {**body, "messages": [*body["messages"], turn, *results]}


def _owed_keys(
    api: str, messages: list[Any], thread: Thread, ids: Callable[[Any], list[str]]
) -> dict[int, str]:
    """index -> the key an owed answer would have, for every assistant turn that calls the client's
    tools: the digest of the history before it, the ids of its calls and the credential."""
    wanted: dict[int, str] = {}
    for index, digest in prefix_digests(messages):
        found = ids(messages[index]) if index < len(messages) else []
        if found:
            wanted[index] = thread.key(api, digest, *sorted(found))
    return wanted


def _chat_ids(message: Any) -> list[str]:
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return []
    calls = message.get("tool_calls")
    return [str(c.get("id")) for c in calls if isinstance(c, dict)] if isinstance(calls, list) else []


def _anthropic_ids(message: Any) -> list[str]:
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return []
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [str(b.get("id")) for b in content if isinstance(b, dict) and b.get("type") == "tool_use"]


def _chat_message(data: dict[str, Any]) -> dict[str, Any]:
    choices = data.get("choices") or [{}]
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    return message if isinstance(message, dict) else {}


class Responses(Api):
    """OpenAI ``POST /v1/responses``. With ``previous_response_id`` only the new input items are sent,
    so only they are compressed, and the retrieval follow-up chains the same way."""

    name = "openai_responses"
    tool_format: ToolFormat = "openai_responses"

    # A response with a retrieval in it is several upstream responses; the client sees the first id
    # (the SDK's streams require one identity), and the next request's previous_response_id is mapped
    # back to the last, which holds the whole exchange ("last" records). Outputs of our calls taken out
    # of a stored response are owed too: the provider holds the calls, so the request that continues
    # from it must carry their outputs ("owed" records). Both are keyed by the response id the provider
    # chose and the credential, which is the provider's own scope for previous_response_id.

    def stream_state(self, thread: Thread) -> StreamState:
        return ResponsesStream(lambda shown, last: self.remember(thread, shown, last))

    def as_first(self, data: dict[str, Any], first_id: str | None, thread: Thread) -> dict[str, Any]:
        """The client keeps the first round's id; its next ``previous_response_id`` is mapped back."""
        if not first_id:
            return data
        self.remember(thread, first_id, str(data.get("id", "")))
        return {**data, "id": first_id}

    def remember(self, thread: Thread, shown: str, last: str) -> None:
        """``shown`` (the id the client has) stands for ``last`` (the round that holds the whole exchange)."""
        if shown and last and shown != last:
            thread.keep(thread.key(self.name, "last", shown), last)

    def recalls(self, body: dict[str, Any]) -> bool:
        items = body.get("input")
        return isinstance(body.get("previous_response_id"), str) or (
            isinstance(items, list) and any(_responses_call_id(i) for i in items)
        )

    def settle(self, body: dict[str, Any], thread: Thread) -> dict[str, Any]:
        """``body`` with ``previous_response_id`` pointing at the whole exchange it names, and the
        outputs of any calls of ours that response still holds unanswered; or, for a client that sends
        the whole conversation (``store: false``), our calls and their outputs put back into each turn
        of its history that lost them."""
        previous = body.get("previous_response_id")
        if not isinstance(previous, str):
            return self._settle_history(body, thread)
        key = thread.key(self.name, "last", previous)
        last = thread.recall([key]).get(key, previous)
        last = last if isinstance(last, str) else previous
        key = thread.key(self.name, "owed", last)
        owed = thread.recall([key]).get(key)
        out = {**body, "previous_response_id": last} if last != previous else body
        if isinstance(owed, list) and owed:
            earlier = out.get("input")
            items = earlier if isinstance(earlier, list) else [{"role": "user", "content": earlier}]
            out = {**out, "input": [*owed, *items]}
        return out

    def owe(self, data: dict[str, Any], calls: list[Call], answers: list[str], thread: Thread) -> None:
        results = [{"type": "function_call_output", "call_id": c.id, "output": a}
                   for c, a in zip(calls, answers, strict=True)]  # fmt: skip
        if data.get("id") and data.get("store") is not False:  # the provider holds the calls
            thread.keep(thread.key(self.name, "owed", str(data["id"])), results)
        output = [i for i in data.get("output") or () if isinstance(i, dict)]
        theirs = [call_id for i in output if (call_id := _responses_call_id(i))]
        if thread.history is not None and theirs and not data.get("previous_response_id"):
            *_, (_, digest) = prefix_digests(thread.history)  # the next request sends it all again
            ours = [i for i in output if _our_item(i)]
            thread.keep(thread.key(self.name, digest, *sorted(theirs)), {"calls": ours, "results": results})

    def _settle_history(self, body: dict[str, Any], thread: Thread) -> dict[str, Any]:
        items = body.get("input")
        if not isinstance(items, list):
            return body
        turns = _responses_turns(items)
        digests = dict(prefix_digests(items)) if turns else {}
        wanted = {start: thread.key(self.name, digests[start], *sorted(ids)) for start, _, ids in turns}
        found = thread.recall(list(wanted.values())) if wanted else {}
        if not found:
            return body
        out: list[Any] = []
        done = 0
        for start, end, _ in turns:
            owed = found.get(wanted[start])
            if isinstance(owed, dict):  # after the turn's own items, before the client's outputs
                out += [*items[done:end], *owed["calls"], *owed["results"]]
                done = end
        return {**body, "input": [*out, *items[done:]]}

    def conversation(self, body: dict[str, Any]) -> tuple[Any, Any]:
        items = body.get("input")
        return (items if isinstance(items, list) else None), None  # a plain string is the user's turn

    def with_conversation(self, body: dict[str, Any], messages: Any, system: Any) -> dict[str, Any]:
        return {**body, "input": messages}

    def with_instruction(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions:
            return {**body, "instructions": f"{instructions}\n\n{text}"}
        return {**body, "instructions": text} if instructions is None else body

    def calls(self, data: dict[str, Any]) -> tuple[list[Call], bool]:
        ours: list[Call] = []
        client = False
        for item in data.get("output") or ():
            if item.get("type") in ("function_call", "custom_tool_call"):
                if item.get("name") == TOOL_NAME:
                    ours.append(Call(str(item.get("call_id")), item.get("arguments")))
                else:
                    client = True
        return ours, client

    def strip(self, data: dict[str, Any]) -> dict[str, Any]:
        output = [i for i in data.get("output") or () if not _our_item(i)]
        return {**data, "output": output}

    def follow_up(self, body: dict[str, Any], data: dict[str, Any], calls: list[Call],
                  answers: list[str]) -> dict[str, Any]:  # fmt: skip
        results = [{"type": "function_call_output", "call_id": c.id, "output": a}
                   for c, a in zip(calls, answers, strict=True)]  # fmt: skip
        if body.get("previous_response_id") and data.get("id"):
            return {**body, "previous_response_id": data["id"], "input": results}
        earlier = body.get("input")
        items = earlier if isinstance(earlier, list) else [{"role": "user", "content": earlier}]
        return {**body, "input": [*items, *(data.get("output") or ()), *results]}


def _our_item(item: Any) -> bool:
    return isinstance(item, dict) and item.get("type") == "function_call" and item.get("name") == TOOL_NAME


_CLIENT_CALLS = ("function_call", "custom_tool_call", "local_shell_call")


def _responses_call_id(item: Any) -> str:
    """The call id of an input or output item that calls one of the client's tools, else ""."""
    if not isinstance(item, dict) or item.get("type") not in _CLIENT_CALLS or _our_item(item):
        return ""
    return str(item.get("call_id") or "")


def _model_item(item: Any) -> bool:
    """Whether an input item is one the model wrote (a turn's reasoning, message or calls), not what
    the client sent it (its messages and the outputs of its tools)."""
    if not isinstance(item, dict):
        return False
    if item.get("type", "message") == "message" or "role" in item:
        return item.get("role") == "assistant"
    return not str(item.get("type", "")).endswith("_output")


def _responses_turns(items: list[Any]) -> list[tuple[int, int, list[str]]]:
    """(start, end, the client's call ids) of every run of model items that calls the client's tools."""
    turns: list[tuple[int, int, list[str]]] = []
    start: int | None = None
    for index, item in enumerate([*items, None]):
        if _model_item(item):
            start = index if start is None else start
            continue
        if start is not None:
            ids = [call_id for i in items[start:index] if (call_id := _responses_call_id(i))]
            if ids:
                turns.append((start, index, ids))
            start = None
    return turns


class Messages(Api):
    """Anthropic ``POST /v1/messages`` (and ``/v1/messages/count_tokens``)."""

    name = "anthropic"
    tool_format: ToolFormat = "anthropic"

    def conversation(self, body: dict[str, Any]) -> tuple[Any, Any]:
        messages = body.get("messages")
        return (messages if isinstance(messages, list) else None), body.get("system")

    def with_conversation(self, body: dict[str, Any], messages: Any, system: Any) -> dict[str, Any]:
        out = {**body, "messages": messages}
        if system is not None:
            out["system"] = system
        return out

    def with_instruction(self, body: dict[str, Any], text: str) -> dict[str, Any]:
        return {**body, "system": _appended(body.get("system"), text)}

    def calls(self, data: dict[str, Any]) -> tuple[list[Call], bool]:
        ours: list[Call] = []
        client = False
        for block in data.get("content") or ():
            if block.get("type") == "tool_use":
                if block.get("name") == TOOL_NAME:
                    ours.append(Call(str(block.get("id")), block.get("input")))
                else:
                    client = True
        return ours, client

    def strip(self, data: dict[str, Any]) -> dict[str, Any]:
        content = [
            b
            for b in data.get("content") or ()
            if not (b.get("type") == "tool_use" and b.get("name") == TOOL_NAME)
        ]
        out = {**data, "content": content}
        if data.get("stop_reason") == "tool_use" and not any(b.get("type") == "tool_use" for b in content):
            out["stop_reason"] = "end_turn"
        return out

    def stream_state(self, thread: Thread) -> StreamState:
        return MessagesStream()

    def recalls(self, body: dict[str, Any]) -> bool:
        messages = body.get("messages")
        return isinstance(messages, list) and any(_anthropic_ids(m) for m in messages)

    def owe(self, data: dict[str, Any], calls: list[Call], answers: list[str], thread: Thread) -> None:
        uses = [b for b in data.get("content") or () if isinstance(b, dict) and b.get("type") == "tool_use"]
        ours = [b for b in uses if b.get("name") == TOOL_NAME]
        theirs = [str(b.get("id")) for b in uses if b.get("name") != TOOL_NAME]
        results = [
            {"type": "tool_result", "tool_use_id": c.id, "content": a}
            for c, a in zip(calls, answers, strict=True)
        ]
        if thread.history is not None and theirs:
            *_, (_, digest) = prefix_digests(thread.history)
            thread.keep(thread.key(self.name, digest, *sorted(theirs)), {"calls": ours, "results": results})

    def settle(self, body: dict[str, Any], thread: Thread) -> dict[str, Any]:
        messages = body.get("messages")
        if not isinstance(messages, list):
            return body
        wanted = _owed_keys(self.name, messages, thread, _anthropic_ids)
        found = thread.recall(list(wanted.values())) if wanted else {}
        if not found:
            return body
        out = list(messages)
        for index, message in enumerate(messages[:-1]):
            owed = found.get(wanted.get(index, ""))
            following = messages[index + 1]
            if not isinstance(owed, dict) or not isinstance(following, dict):
                continue
            if not isinstance(following.get("content"), list):
                continue
            out[index] = {**message, "content": [*message["content"], *owed["calls"]]}
            out[index + 1] = {**following, "content": [*owed["results"], *following["content"]]}
        return {**body, "messages": out}

    def follow_up(self, body: dict[str, Any], data: dict[str, Any], calls: list[Call],
                  answers: list[str]) -> dict[str, Any]:  # fmt: skip
        turn = {"role": "assistant", "content": data.get("content") or []}
        results = [
            {"type": "tool_result", "tool_use_id": c.id, "content": a}
            for c, a in zip(calls, answers, strict=True)
        ]
        return {**body, "messages": [*body["messages"], turn, {"role": "user", "content": results}]}

    def error(self, status: int, message: str, kind: str) -> dict[str, Any]:
        return {"type": "error", "error": {"type": kind, "message": message}}

    def error_event(self, message: str) -> bytes:
        return event(self.error(502, message, "api_error"), "error").encode()
