"""Where a log line's header (timestamp, host, pid, level, component) ends and its message begins.

Template mining compares messages, not headers: two FATAL lines of a RAS log share ``- <*> <*> RAS
KERNEL FATAL`` whatever went wrong, and counting those tokens as agreement merged different failures
into one ``<*>`` line. No format string is configured per system; the header is read from the shapes
most formats share, on the masked tokens of one signature:

- a level word (``INFO``, ``[error]``, ``<WARN>``), or logcat's single letter (``V D I W E F``) after
  the variable fields (``03-17 16:13:38.811  1702  2395 D tag: ...``);
- a component ending with ``:`` (``sshd[<*>]:``, ``dfs.DataNode$PacketResponder:``, ``WindowManager:``),
  which closes the header;
- a field separator: ``-`` (``[time] app.exe - message``), ``|`` (``time|component|pid|message``) or
  ``::``.

Only the first ``_SCAN`` tokens are read, so a message that happens to contain a colon late in the
line keeps its words. A line with none of these (a bare ``node-<*> unix.hw ...`` record) has no known
header: its whole text is the message, as before.
"""

from __future__ import annotations

WILD = "<*>"
_SCAN = 12
_SEPARATOR_SCAN = 8  # a ``-`` further in is the message's own dash
_LEVEL_WORDS = frozenset(
    {
        "trace", "debug", "info", "notice", "warn", "warning", "err", "error", "severe", "crit",
        "critical", "fatal", "alert", "emerg", "emergency", "verbose", "fine", "finer", "finest",
    }
)  # fmt: skip
# every spelling of a level field, so one set lookup tells a level token (this runs on every signature)
_LEVEL_FORMS = frozenset(
    form
    for word in _LEVEL_WORDS
    for bare in (word, f"[{word}]", f"({word})", f"<{word}>", f"{{{word}}}", f"[{word}", f"{word}]")
    for form in (bare, f"{bare}:", f"{bare},")
)
_LONGEST_LEVEL = max(map(len, _LEVEL_FORMS))
_LOGCAT_LEVELS = frozenset("VDIWEFA")
_SEPARATORS = frozenset({"-", "|", "::", "--"})


def is_level(token: str) -> bool:
    """``INFO``, ``[error]``, ``<warn>``, ``info:``: a severity word, brackets and a colon aside."""
    return len(token) <= _LONGEST_LEVEL and token.lower() in _LEVEL_FORMS


def _is_component(token: str) -> bool:
    """``sshd[<*>]:``, ``WindowManager:``, ``kernel[<*>]:``: a name with letters closed by a colon."""
    if len(token) < 2 or not token.endswith(":") or token.endswith("::"):
        return False
    name = token[:-1].replace(WILD, "")
    return any(char.isalpha() for char in name) and "://" not in token


def message_start(tokens: list[str]) -> int:
    """The index of the first message token of ``tokens`` (0 when no header is recognised)."""
    start = 0
    variable_prefix = True  # every token so far is (or holds) a variable: the timestamp/pid fields
    leveled = False  # a line has one level field: a later "error" is the message's word
    for index, token in enumerate(tokens[:_SCAN]):
        if token in _SEPARATORS:
            if index < _SEPARATOR_SCAN:
                start = index + 1
        elif token[-1] == ":" and _is_component(token):
            start = index + 1
            break
        elif not leveled and (
            (variable_prefix and index and token in _LOGCAT_LEVELS)
            or (len(token) <= _LONGEST_LEVEL and token.lower() in _LEVEL_FORMS)  # is_level, inlined
        ):
            start = index + 1
            leveled = True
        variable_prefix = variable_prefix and WILD in token
    return start if start < len(tokens) else 0
