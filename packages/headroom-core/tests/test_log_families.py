"""Log families the compressor was not tuned on, generated here: every log is built from a seeded
random generator in the shape of its family (a RAS log, a level-less record log, logcat, a
pipe-delimited app log, a proxy log with many hosts, syslog without levels), never copied from real data.

Each test checks what a reader of the compressed log needs: it is read as a log, every distinct
failure keeps a verbatim example, and the repetitive rest shrinks at least tenfold.
"""

from __future__ import annotations

import random
import re

from headroom._compressors import Job
from headroom._compressors.log import compress
from headroom._detect import detect
from headroom._markers import Marker, make_ref

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pu", "do", "ge", "fa", "wi"]


def compressed(text: str) -> str:
    """The log compressor's output for ``text``, after checking that ``text`` is detected as a log."""
    assert detect(text).kind == "log"
    out = compress(Job(text=text, query=None, budget=None, marker=Marker(make_ref(text), True)))
    assert out is not None
    return out


def words(rng: random.Random, count: int) -> str:
    return " ".join("".join(rng.choice(_SYLLABLES) for _ in range(3)) for _ in range(count))


def verbatim(out: str, line: str) -> bool:
    """``line`` is an output line of its own, or one prefixed with its count."""
    return any(shown == line or shown.endswith("] " + line) for shown in out.splitlines())


def test_a_ras_log_keeps_every_rare_fatal_template_apart() -> None:
    rng = random.Random(7)
    fatal = [words(rng, 4) for _ in range(40)]  # forty different failures of the same length
    lines = []
    for i in range(3000):
        loc = (
            f"R{rng.randint(0, 7):02d}-M{rng.randint(0, 1)}-N{rng.randint(0, 15)}-C:J{rng.randint(2, 17):02d}"
        )
        if i % 60 == 5:
            message = f"RAS KERNEL FATAL {fatal[i // 60 % 40]}"
        elif i % 7 == 0:
            message = f"RAS APP INFO ciod: generated {rng.randint(1, 64)} core files for program {rng.randint(1, 9)}"
        else:
            message = f"RAS KERNEL INFO {rng.randint(1, 900)} double-hummer alignment exceptions"
        stamp = f"2005-06-03-15.{i // 60 % 60:02d}.{i % 60:02d}.{rng.randint(100000, 999999)}"
        lines.append(f"- {1117838570 + i * 7} 2005.06.03 {loc} {stamp} {loc} {message}")
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    for template in fatal:
        example = next(line for line in lines if line.endswith("FATAL " + template))
        assert verbatim(out, example), template
    assert not any("FATAL" in line and "<*>" in line for line in out.splitlines())
    assert len(text) > 10 * len(out)


def test_a_level_less_record_log_surfaces_failures_found_only_in_the_text() -> None:
    rng = random.Random(11)
    failures = [
        "link error on port {n}",
        "power supply failure detected in rack {n}",
        "connection refused by peer node-{n}",
        "heartbeat timeout after {n} seconds",
        "permission denied for job {n}",
        "ServerFileSystem domain storage{n} raised an exception",
        "daemon on node-{n} not responding",
    ]
    lines, expected = [], []
    for i in range(2500):
        node = f"node-{rng.randint(1, 256)}"
        if i % 150 == 75:
            message = failures[i // 150 % len(failures)].format(n=rng.randint(1, 40))
            expected.append(message)
        elif i % 3 == 0:
            message = f"Component State Change: Component alt{rng.randint(0, 3)} is in the running state"
        else:
            message = f"clusterAddMember (command {rng.randint(1000, 9999)})"
        lines.append(
            f"{rng.randint(100000, 999999)} {node} unix.hw state_change {1077804742 + i * 13} 1 {message}"
        )
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    for template in {re.sub(r"\d+", "", message) for message in expected}:
        assert any(
            re.sub(r"\d+", "", line).endswith(template) and "<*>" not in line for line in out.splitlines()
        )
    assert len(text) > 10 * len(out)


def test_a_logcat_log_keeps_its_error_lines_and_merges_tags() -> None:
    rng = random.Random(5)
    tags = [f"{name}Service" for name in ("Power", "Window", "Activity", "Audio", "Wifi", "Input", "Alarm")]
    errors = [words(rng, 3) + " unexpected state" for _ in range(4)]  # only the E letter says error
    lines = []
    for i in range(2400):
        stamp = f"03-17 16:{i // 60 % 60:02d}:{i % 60:02d}.{rng.randint(0, 999):03d}"
        pid, tid = rng.randint(1000, 9999), rng.randint(1000, 9999)
        if i % 200 == 100:
            lines.append(f"{stamp}  {pid}  {tid} E {rng.choice(tags)}: {errors[i // 200 % 4]}")
        elif i % 2:
            lines.append(
                f"{stamp}  {pid}  {tid} D {rng.choice(tags)}: acquire lock={rng.randint(1, 10**8)}, ws=null"
            )
        else:
            lines.append(
                f"{stamp}  {pid}  {tid} I {rng.choice(tags)}: screen on, brightness {rng.randint(1, 255)}"
            )
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    for error in errors:
        assert any(line.endswith(error) and "<*>" not in line for line in out.splitlines()), error
    assert len(text) > 10 * len(out)


def test_a_pipe_delimited_log_is_a_log_and_keeps_its_failures() -> None:
    rng = random.Random(9)
    components = ["Step_LSC", "Step_SPUtils", "Step_StandReportReceiver", "HiH_HiSyncUtil", "Step_ExtSDM"]
    lines = []
    for i in range(2000):
        stamp = f"20171223-22:{i // 60 % 60:02d}:{i % 60:02d}:{rng.randint(0, 999):03d}"
        component = rng.choice(components)
        if i % 250 == 125:
            message = f"uploadStaticsToDB failed, error code {rng.randint(1, 9)}"
        elif i % 2:
            message = f"onStandStepChanged {rng.randint(1000, 9999)}"
        else:
            message = (
                f"getTodayTotalDetailSteps = {rng.randint(10**9, 10**10)}##{rng.randint(1000, 9999)}##548365"
            )
        lines.append(f"{stamp}|{component}|30002312|{message}")
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    assert any(
        "uploadStaticsToDB failed, error code" in line and "<*>" not in line for line in out.splitlines()
    )
    assert re.search(r"^\[×\d+ [^\]]+\] .*onStandStepChanged <\*>$", out, re.M)
    assert len(text) > 10 * len(out)


def test_a_proxy_log_with_many_hosts_collapses_and_keeps_its_errors() -> None:
    rng = random.Random(13)
    apps = ["chrome.exe", "WeChat.exe", "Dropbox.exe", "firefox.exe", "git-remote-https.exe", "Skype.exe"]
    hosts = [f"{words(rng, 1).replace(' ', '')}.example{n}.com" for n in range(300)]
    lines = []
    for i in range(2000):
        stamp = f"[10.30 {16 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}]"
        app, host = rng.choice(apps), rng.choice(hosts)
        if i % 180 == 90:
            lines.append(f"{stamp} {app} - {host}:443 error : Could not connect through proxy proxy.lan:5070")
        elif i % 2:
            lines.append(f"{stamp} {app} - {host}:443 open through proxy proxy.lan:5070 HTTPS")
        else:
            sent, received = rng.randint(1, 9999), rng.randint(1, 99999)
            lines.append(f"{stamp} {app} - {host}:443 close, {sent} bytes sent, {received} bytes received")
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    assert any(
        line.endswith(":443 error : Could not connect through proxy proxy.lan:5070")
        for line in out.splitlines()
    )
    assert len(text) > 10 * len(out)


def test_syslog_without_levels_shows_each_failure_verbatim() -> None:
    rng = random.Random(17)
    failures = ["authentication failure for user {u}", "connection refused to {u}", "request timeout for {u}"]
    lines = []
    for i in range(1800):
        stamp = f"Jul  1 09:{i // 60 % 60:02d}:{i % 60:02d}"
        process = rng.choice(["kernel[0]", "mDNSResponder[91]", "com.apple.cts[258]", "sandboxd[129]"])
        user = words(rng, 1)
        if i % 100 == 50:
            message = failures[i // 100 % 3].format(u=user)
        else:
            message = f"wake reason {rng.randint(1, 99)}: EC.LidOpen"
        lines.append(f"{stamp} host-10-105-160-95 {process}: {message}")
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    for failure in failures:
        prefix = failure.split(" {u}")[0]
        assert any(prefix in line and "<*>" not in line for line in out.splitlines()), failure
    assert len(text) > 10 * len(out)


def test_a_non_zero_exit_status_is_shown_though_masking_hides_the_number() -> None:
    rng = random.Random(19)
    lines = []
    for i in range(1500):
        stamp = f"{1500000000 + i * 3}"
        code = 137 if i in (400, 1100) else 0
        lines.append(
            f"{stamp} worker-{rng.randint(1, 40)} scheduler task {rng.randint(1, 10**6)} exited with code {code}"
        )
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    assert verbatim(out, lines[400])
    assert len(text) > 10 * len(out)


def test_a_file_prefixed_log_is_a_log_not_search_hits() -> None:
    rng = random.Random(23)
    lines = []
    for i in range(1500):
        request = f"req-{rng.randint(10**7, 10**8)}"
        if i % 300 == 150:
            message = f"ERROR compute.manager [{request}] [instance: {rng.randint(10**5, 10**6)}] Instance failed to spawn"
        else:
            message = f'INFO api.server [{request}] "GET /v2/servers/detail HTTP/1.1" status: 200 len: {rng.randint(900, 2000)}'
        lines.append(
            f"api.log.1.2017-05-16_13:53:08 2017-05-16 00:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000:03d} {message}"
        )
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    assert any(line.endswith("Instance failed to spawn") and "<*>" not in line for line in out.splitlines())
    assert len(text) > 10 * len(out)


def test_a_template_span_names_the_date_not_the_host_or_epoch_in_front() -> None:
    rng = random.Random(29)
    lines = []
    for i in range(1200):
        host = f"dn{rng.randint(1, 999)}"
        pid = rng.randint(1000, 30000)
        lines.append(
            f"- {1131566461 + i} 2005.11.09 {host} Nov 9 12:{i // 60:02d}:{i % 60:02d} {host}/{host} cron[{pid}]: session closed"
        )
    text = "\n".join(lines) + "\n"
    out = compressed(text)
    assert re.search(r"^\[×1200 12:00:00–12:19:59\] .*cron\[<\*>\]: session closed$", out, re.M)
