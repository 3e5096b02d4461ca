"""The JSON compressor on generated documents of the families it meets in the wild.

Package registries (versions keyed by semver, a ``time`` map), release indexes (releases with nested
file lists), API recordings (request/response pairs whose responses are arrays), maps keyed by UUIDs
or dates. Every document is built here, so the tests say what holds for a family, not for one file:
the first and last record of every array of objects, at every depth, stays visible; maps keyed by
ids compress like arrays with every key still findable; the original comes back byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

from headroom import Headroom
from headroom._compressors import Job
from headroom._compressors.json import compress
from headroom._markers import Marker, make_ref


def run(document: Any, query: str | None = None) -> str:
    text = json.dumps(document, indent=2)
    out = compress(Job(text=text, query=query, budget=None, marker=Marker(make_ref(text), True)))
    assert out is not None
    return out


def compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"))


def sha(seed: object, length: int = 64) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()[:length]


def shown(value: Any, out: str) -> bool:
    """A scalar is visible as in JSON, strings raw or JSON-escaped."""
    if isinstance(value, str):
        return value in out or json.dumps(value)[1:-1] in out
    return json.dumps(value) in out


def word_shown(word: str, out: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", out) is not None


def ends_of_every_object_array(node: Any) -> list[dict[str, Any]]:
    """The first and last record of every array of objects at any depth."""
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        if node and all(isinstance(item, dict) for item in node):
            found += [node[0], node[-1]]
        for item in node:
            found += ends_of_every_object_array(item)
    elif isinstance(node, dict):
        for item in node.values():
            found += ends_of_every_object_array(item)
    return found


_IDENTITY = ("id", "uuid", "sha", "key", "number", "name", "login", "title", "path", "url")


def assert_ends_visible(document: Any, out: str) -> None:
    """Each end record is visible: its identity (the first of the usual id fields), or, without one,
    every scalar it holds."""
    for record in ends_of_every_object_array(document):
        identity = next((key for key in _IDENTITY if isinstance(record.get(key), (str, int))), None)
        scalars = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
        for key, value in ({identity: record[identity]} if identity else scalars).items():
            assert shown(value, out), f"{key}={value!r} of {compact(record)[:120]} not visible"


# --- generators ----------------------------------------------------------------------------------------


def registry(count: int = 100) -> dict[str, Any]:
    """An npm-like package document: full manifests keyed by version, publish times keyed by version."""
    versions = [f"{major}.{minor}.{patch}" for major in range(5) for minor in range(5) for patch in range(4)]
    versions = versions[:count]
    people = [{"name": f"dev{i}", "email": f"dev{i}@example.org"} for i in range(4)]
    manifests = {}
    for i, version in enumerate(versions):
        manifests[version] = {
            "name": "widget",
            "version": version,
            "description": "Widgets for the web.",
            "license": "BSD-3-Clause" if i == 37 else "MIT",
            "main": "index.js",
            "dependencies": {"left-pad": f"^1.{i // 30}.0", "tiny-emitter": "^2.0.0"},
            "maintainers": people[: 2 + (i >= 60)],
            "_npmUser": people[i % 2],
            "gitHead": sha(("head", i), 40),
            "dist": {
                "shasum": sha(("shasum", i), 40),
                "tarball": f"https://registry.example.org/widget/-/widget-{version}.tgz",
                "integrity": "sha512-" + sha(("integrity", i)) + sha(("integrity2", i)),
                "signature": "\n".join(sha((i, line)) for line in range(8)),
            },
        }
    times = {"created": "2015-01-01T00:00:00.000Z"}
    times |= {v: f"2015-{1 + i // 9 % 12:02d}-{1 + i % 27:02d}T10:00:00.000Z" for i, v in enumerate(versions)}
    times["modified"] = "2019-06-01T00:00:00.000Z"
    return {
        "_id": "widget",
        "name": "widget",
        "dist-tags": {"latest": versions[-1]},
        "maintainers": people,
        "time": times,
        "versions": manifests,
    }


def releases(count: int = 40) -> list[dict[str, Any]]:
    """A download index: releases, each with its list of files."""
    platforms = [("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("windows", "386")]
    out = []
    for i in range(count):
        version = f"tool1.{i // 4}.{i % 4}"
        files = [{"filename": f"{version}.src.tar.gz", "os": "", "arch": "", "kind": "source"}]
        for os_name, arch in platforms * 3:
            files.append({"filename": f"{version}.{os_name}-{arch}.tar.gz", "os": os_name, "arch": arch})
            files[-1]["kind"] = "archive"
        for n, file in enumerate(files):
            file["version"] = version
            file["sha256"] = sha((version, n))
            file["size"] = 90_000_000 + 1_000 * n + i
        out.append({"version": version, "stable": i != 17, "files": files})
    return out


def recordings(count: int = 30) -> list[dict[str, Any]]:
    """Recorded API calls: request fields, a status, the response body (an array of records)."""
    out = []
    for page in range(count):
        issues = [
            {
                "id": 9000 + page * 10 + n,
                "number": page * 10 + n,
                "title": f"Bug report {page}-{n}",
                "user": {"login": f"user{(page + n) % 7}"},
                "state": "open",
            }
            for n in range(5)
        ]
        out.append(
            {
                "scope": "https://api.example.com:443",
                "method": "GET",
                "path": f"/repos/acme/app/issues?page={page}",
                "status": 404 if page == 11 else 200,
                "response": issues,
                "rawHeaders": ["Content-Type", "application/json", "X-Page", str(page)],
            }
        )
    return out


# --- families --------------------------------------------------------------------------------------------


def test_a_registry_document_compresses_its_versions_like_an_array_and_every_version_stays_findable() -> None:
    document = registry()
    out = run(document)
    assert len(compact(document)) / len(out) >= 3
    for version in document["versions"]:
        assert word_shown(version, out), version
    manifests = list(document["versions"].values())
    for manifest in (manifests[0], manifests[-1], manifests[37]):  # first, last, a rare licence
        assert shown(manifest["dist"]["shasum"], out)
    assert "BSD-3-Clause" in out
    assert manifests[50]["dist"]["shasum"] not in out  # a middle, ordinary manifest is summarised
    assert "records omitted: " in out
    assert_ends_visible(document, out)


def test_a_long_map_of_dates_keyed_by_version_keeps_every_key_and_its_ends() -> None:
    document = registry()
    out = run({"time": document["time"]})
    times = document["time"]
    for key in times:
        assert word_shown(key, out), key
    versions = [key for key in times if key[0].isdigit()]
    assert shown(times[versions[0]], out)
    assert shown(times[versions[-1]], out)
    assert shown(times["created"], out)
    assert shown(times["modified"], out)
    assert "entries omitted: " in out
    assert len(out) < len(compact(times))


def test_releases_keep_the_first_and_last_file_of_every_release() -> None:
    document = releases()
    out = run(document)
    assert_ends_visible(document, out)
    assert len(compact(document)) / len(out) >= 2.5  # middle files of every release are summarised
    assert "false" in out  # the one unstable release


def test_recordings_keep_the_first_and_last_item_of_every_response() -> None:
    document = recordings()
    out = run(document)
    assert_ends_visible(document, out)
    assert "404" in out
    assert "Bug report 5-2" not in out  # a middle item of an ordinary response is summarised


def test_identical_nested_records_do_not_keep_every_parent() -> None:
    people = [{"name": f"dev{i}", "email": f"dev{i}@example.org"} for i in range(3)]
    document = {"builds": [{"number": n, "result": "ok", "owners": people} for n in range(50)]}
    out = run(document)
    assert_ends_visible(document, out)
    assert "records omitted" in out
    assert len(out) < len(compact(document)) / 4


def test_a_map_keyed_by_uuids_becomes_a_table_with_its_keys_and_its_anomalies() -> None:
    keys = [str(uuid.UUID(int=7919 * (i + 1) << 64 | i)) for i in range(60)]
    nodes = {key: {"name": f"node-{i}", "state": "ready", "cpus": 4} for i, key in enumerate(keys)}
    nodes[keys[23]]["state"] = "failed"
    nodes[keys[41]]["cpus"] = 128
    out = run({"nodes": nodes})
    assert "nodes{60} (key)|" in out
    for key in keys:
        assert key in out
    for i in (0, 23, 41, 59):
        assert f"node-{i}|" in out
    assert "failed" in out
    assert "|128" in out
    assert "node-30|" not in out


def test_objects_keyed_by_field_names_are_not_taken_for_maps_of_records() -> None:
    fields = ["name", "email", "created", "sha256", "address", "phone", "utf-8"]
    schema = {"properties": {field: {"type": "string", "description": f"the {field}"} for field in fields}}
    out = run(schema)
    for field in fields:
        assert f"the {field}" in out


def test_keyed_maps_with_odd_values_pass_without_error() -> None:
    odd = {f"1.{i}.0": ({"a": i} if i % 2 else [i, {"b": None}]) for i in range(30)}
    out = run({"versions": odd, "empty": {f"{i}": {} for i in range(10)}})
    for key in odd:
        assert word_shown(key, out)


def test_the_original_comes_back_byte_for_byte(hr: Headroom) -> None:
    text = json.dumps(registry(), indent=2)
    result = hr.compress_text(text)
    assert result.ref is not None
    assert result.text != text
    assert hr.retrieve(result.ref) == text


def test_a_document_that_is_a_map_keyed_by_ids_is_compressed_too() -> None:
    keys = [f"-Nq{sha(i, 14)}x{i}" for i in range(40)]  # push-style ids: opaque, with digits
    document = {
        key: {"text": f"message {i}", "sender": f"user{i % 3}", "read": True} for i, key in enumerate(keys)
    }
    out = run(document)
    assert out.startswith("{40} (key)|")
    for key in keys:
        assert key in out
    assert word_shown("message 0", out)
    assert word_shown("message 39", out)
    assert not word_shown("message 20", out)


def test_a_map_of_daily_counts_keeps_its_outlier_and_every_date() -> None:
    days = {f"2024-{1 + i // 28:02d}-{1 + i % 28:02d}": 100 + i % 9 for i in range(90)}
    spike = list(days)[45]
    days[spike] = 98_765
    out = run({"requests_per_day": days})
    for day in days:
        assert word_shown(day, out)
    assert f"{spike}: 98765" in out
    assert "entries omitted: " in out


def test_a_query_finds_a_record_of_a_keyed_map_by_its_key() -> None:
    keys = [str(uuid.UUID(int=104729 * (i + 3) << 64 | i)) for i in range(50)]
    document = {"sessions": {key: {"user": f"u{i}", "minutes": 30} for i, key in enumerate(keys)}}
    out = run(document, query=keys[25])
    assert f"{keys[25]}|u25" in out


def test_a_file_index_keyed_by_version_keeps_each_files_name_literal() -> None:
    """PyPI's shape: ``releases: {version: [files]}``; a file's URL extends its filename, but the URL
    names the record, so it is written out rather than as a template."""
    releases = {
        f"1.{i}.0": [
            {
                "filename": f"lib-1.{i}.0{suffix}",
                "url": f"https://files.example.org/lib-1.{i}.0{suffix}",
                "size": 9000 + i,
            }
            for suffix in (".tar.gz", "-py3-none-any.whl", "-cp312-win_amd64.whl")
        ]
        for i in range(20)
    }
    out = run({"info": {"name": "lib"}, "releases": releases})
    assert_ends_visible({"releases": releases}, out)


def test_a_record_kept_only_for_its_nested_records_shows_its_scalars_and_those_records() -> None:
    """A commit list: each commit's ``parents`` is an array of objects whose ends must stay, so every
    commit stays, but a middle commit shows its short fields and parents, not its whole payload."""
    shas = [sha(("commit", i), 40) for i in range(41)]
    commits = [
        {
            "sha": shas[i],
            "url": f"https://api.example.com/repos/acme/app/commits/{shas[i]}",
            "commit": {"message": f"Change {i}: " + "details " * 30, "author": {"name": f"dev{i % 4}"}},
            "parents": [
                {"sha": shas[i + 1], "url": f"https://api.example.com/repos/acme/app/commits/{shas[i + 1]}"}
            ],
        }
        for i in range(40)
    ]
    out = run(commits)
    assert_ends_visible(commits, out)
    assert "[20]: (partly shown; not shown: url, commit)" in out
    assert "Change 20: " not in out
    assert "Change 0: " in out
    assert "fields omitted; headroom_retrieve ref=" in out
