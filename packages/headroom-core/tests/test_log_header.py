from __future__ import annotations

import pytest
from headroom._compressors._log_header import message_start
from headroom._compressors._log_templates import split_tokens


@pytest.mark.parametrize(
    ("signature", "message"),
    [
        ("<*> <*> INFO app.http: served /api in <*>ms", "served"),  # level, then component
        ("<*> <*> <*> <*> D WindowManager: acquire lock=<*>", "acquire"),  # logcat letter and tag
        ("<*> <*> host sshd[<*>]: Invalid user x from <*>", "Invalid"),  # syslog
        ("[<*> <*>] [error] [client <*>] File does not exist", "[client"),  # bracketed level
        ("[<*> <*>] app.exe - example.com:<*> open through proxy", "example.com:<*>"),  # ' - ' separator
        ("<*>|Step_LSC|<*>|onStandStepChanged <*>", "onStandStepChanged"),  # pipes
        ("- <*> <*> R<*>-M<*> <*> RAS KERNEL FATAL data TLB error interrupt", "data"),  # RAS record
        ("<*> node-<*> unix.hw state_change <*> <*> running", "<*>"),  # no header known: whole line
    ],
)
def test_the_message_starts_after_the_header(signature: str, message: str) -> None:
    tokens = split_tokens(signature)
    assert tokens[message_start(tokens)] == message


def test_a_line_that_is_all_header_is_all_message() -> None:
    assert message_start(split_tokens("<*> <*> INFO")) == 0
    assert message_start([]) == 0
