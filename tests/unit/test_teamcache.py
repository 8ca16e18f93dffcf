"""The team cache's pure parts: the setting, refs per service, the extra compose file, and
what a real stream says (a capture of the third engine importing a classic engine's inline
cache: tests/data/rawjson/teamcache_fresh_inline.err)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dockyard import remote, teamcache
from dockyard.doctor.checks.project import check_team_cache
from dockyard.doctor.facts import ProjectFacts
from dockyard.doctor.report import FAIL, PASS, WARN, CheckResult
from dockyard.engine.stackinfo import StackInfo
from dockyard.errors import SettingsError
from dockyard.progress import BuildReport, RawJsonStream

CAPTURE = Path(__file__).resolve().parents[1] / "data" / "rawjson" / "teamcache_fresh_inline.err"
CAPTURE_REF = "127.0.0.1:47317/t/x:1"


@pytest.mark.parametrize(
    ("text", "registry", "prefix"),
    [
        ("registry.example.com/team/cache", "registry.example.com", "team/cache"),
        ("127.0.0.1:5000/team", "127.0.0.1:5000", "team"),
        ("localhost:5000", "localhost:5000", ""),
        ("registry:5000/a/b/", "registry:5000", "a/b"),
    ],
)
def test_location_is_a_registry_and_a_prefix(text: str, registry: str, prefix: str) -> None:
    assert teamcache.parse_location(text) == teamcache.Location(registry, prefix)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("https://registry.example.com/team", "without a scheme"),
        ("team/cache", "is not a registry host"),
        ("registry.example.com/Team", "is not a repository name"),
        ("registry.example.com/team:tag", "is not a repository name"),
    ],
)
def test_bad_locations_are_one_line(text: str, says: str) -> None:
    with pytest.raises(SettingsError, match=says):
        teamcache.parse_location(text)


def test_credentials_in_the_setting_are_refused_without_echoing_them() -> None:
    with pytest.raises(SettingsError) as caught:
        teamcache.parse_location("bob:s3cret-sentinel@registry.example.com/team")
    assert "s3cret-sentinel" not in caught.value.one_line()
    assert "docker login" in caught.value.hint


def test_refs_per_service_with_the_default_branch_as_fallback(tmp_path: Path) -> None:
    plan = teamcache.plan(
        teamcache.Location("127.0.0.1:5000", "team"),
        project="My_Project",
        services={"api": (), "worker": ("type=local,dest=/x",)},
        root=tmp_path,  # not a git checkout: branch and default branch are "main"
        image_store="classic",
        push=True,
    )
    api, worker = plan.services["api"], plan.services["worker"]
    assert api.push_ref == "127.0.0.1:5000/team/my-project/api:main"
    assert api.pull_refs == (api.push_ref,)
    assert (api.export, worker.export) == ("inline", "compose")  # the compose file's cache_to wins
    model = teamcache.override_model(plan)["services"]
    assert model["api"]["build"] == {
        "cache_from": [f"type=registry,ref={api.push_ref}"],
        "args": {"BUILDKIT_INLINE_CACHE": "1"},
        "tags": [api.push_ref],
    }
    assert "cache_to" not in model["worker"]["build"]


def test_containerd_store_exports_mode_max_and_a_branch_imports_main_too(tmp_path: Path) -> None:
    plan = teamcache.plan(
        teamcache.Location("reg.example.com", "t"),
        project="p",
        services={"app": ()},
        root=tmp_path,
        image_store="containerd",
        push=True,
    )
    assert plan.mode == "registry" and "mode=max" in plan.why
    app = plan.services["app"]
    app.push_ref, app.pull_refs = (
        "reg.example.com/t/p/app:feature-x",
        (
            "reg.example.com/t/p/app:feature-x",
            "reg.example.com/t/p/app:main",
        ),
    )
    build = teamcache.override_model(plan)["services"]["app"]["build"]
    assert build["cache_from"] == [f"type=registry,ref={r}" for r in app.pull_refs]
    assert build["cache_to"] == [
        "type=registry,ref=reg.example.com/t/p/app:feature-x,mode=max,ignore-error=true"
    ]
    assert teamcache.tag("feature/x") == "feature-x"


def test_registry_down_imports_nothing_and_says_so_once(tmp_path: Path) -> None:
    plan = teamcache.plan(
        teamcache.Location("127.0.0.1:9", ""),
        project="p",
        services={"app": ()},
        root=tmp_path,
        image_store="classic",
        push=False,
        unreachable="Connection refused",
    )
    assert teamcache.write_override(plan, tmp_path) is None
    warnings, notes = teamcache.before_lines(plan)
    assert len(warnings) == 1 and "unreachable (Connection refused)" in warnings[0]
    assert notes == []


def test_real_stream_import_and_lazily_pulled_step() -> None:
    stream = RawJsonStream(["app"], default_service="app")
    stream.feed(CAPTURE.read_bytes(), "stderr")
    stream.close()
    report = stream.report("app", 0)
    countable = [s for s in report.dockerfile_steps if not s.is_from]
    # Every step came from the team cache, the last one re-reported while its layers arrived.
    assert countable and all(s.cached for s in countable), [(s.name, s.cached) for s in countable]
    plan = teamcache.plan(
        teamcache.Location("127.0.0.1:47317", "t"),
        project="p",
        services={"app": ()},
        root=CAPTURE.parent,
        image_store="containerd",
        push=False,
    )
    plan.services["app"].pull_refs = (CAPTURE_REF,)
    vertices = [
        teamcache.CacheVertex(s.name, s.error)
        for s in stream.steps("app")
        if teamcache.IMPORTING in s.name
    ]
    pulled = {"app": stream.blobs_pulled(s.digest for s in report.steps if not s.is_from)}
    teamcache.read_stream(plan, vertices, {"app": len(countable)}, pulled)
    app = plan.services["app"]
    assert app.imported == [CAPTURE_REF]
    # every layer was pulled under the last step, as BuildKit does it: counted, not placed;
    # the base image's layer came along (79 MB) and is not a step of its own
    assert app.cached_steps == len(countable) == app.team_steps and app.local_steps == 0
    assert app.pulled_layers == app.team_steps + 1 and app.pulled_bytes == 79_426_297
    assert json.dumps(plan.to_dict())  # JSON-ready


TEAMCACHE_DATA = Path(__file__).resolve().parents[1] / "data" / "teamcache"


def _streamed(name: str) -> tuple[RawJsonStream, BuildReport]:
    stream = RawJsonStream(["backend"], default_service="backend")
    stream.feed((TEAMCACHE_DATA / f"{name}.rawjson").read_bytes(), "stderr")
    stream.close()
    return stream, stream.report("backend", 0)


@pytest.mark.parametrize(
    ("name", "team", "local", "size"),
    [
        # the fresh machine: each of the six steps' layers pulled (classic: no sizes given)
        ("debian13-fresh", 6, 0, None),
        ("sid-fresh", 6, 0, 10_588_803),
        # the same build again: every step local, nothing pulled
        ("debian13-local", 0, 6, 0),
        ("sid-local", 0, 6, 0),
    ],
)
def test_team_and_local_steps_told_apart_on_both_stacks(
    name: str, team: int, local: int, size: int | None
) -> None:
    stream, report = _streamed(name)
    location = teamcache.Location("127.0.0.1:5000", "capture")
    plan = teamcache.plan(
        location, project="p", services={"backend": ()}, root=TEAMCACHE_DATA,
        image_store="containerd" if name.startswith("sid") else "classic", push=False,
    )  # fmt: skip
    ref = next(
        s.name.partition(teamcache.IMPORTING)[2]
        for s in stream.steps("backend")
        if teamcache.IMPORTING in s.name
    )
    plan.services["backend"].pull_refs = (ref,)
    vertices = [teamcache.CacheVertex(s.name, s.error) for s in stream.steps("backend")]
    cached = sum(1 for s in report.dockerfile_steps if s.cached and not s.is_from)
    pulled = stream.blobs_pulled(s.digest for s in report.steps if not s.is_from)
    teamcache.read_stream(plan, vertices, {"backend": cached}, {"backend": pulled})
    svc = plan.services["backend"]
    assert svc.imported == [ref]
    assert (svc.cached_steps, svc.team_steps, svc.local_steps) == (6, team, local)
    assert svc.pulled_bytes == size
    (line,) = teamcache.summary_lines(plan)
    if team:
        assert "6 cached step(s): 6 from the team cache (6 layer(s) pulled" in line, line
    else:
        assert "6 cached step(s), all local" in line, line


def test_refused_export_is_one_error_with_a_hint() -> None:
    plan = teamcache.plan(
        teamcache.Location("127.0.0.1:5000", "t"),
        project="p",
        services={"app": ()},
        root=CAPTURE.parent,
        image_store="containerd",
        push=True,
    )
    teamcache.read_stream(
        plan,
        [teamcache.CacheVertex("exporting cache to registry", "error writing layer blob: 405")],
        {"app": 0},
        {},
    )
    failure = teamcache.push_failure(plan)
    assert failure is not None and "refused: error writing layer blob: 405" in failure.message
    assert failure.hint.startswith("the image is built and kept")


def test_context_bytes_come_from_the_stream() -> None:
    stream = RawJsonStream(["app"], default_service="app")
    stream.feed(CAPTURE.read_bytes(), "stderr")
    stream.close()
    assert stream.context_bytes("app") == 44  # what BuildKit's `transferring context` counted
    assert stream.context_bytes("other") is None


@pytest.mark.parametrize(
    ("environ", "place", "far"),
    [
        ({"DOCKER_HOST": "tcp://127.0.0.1:2376"}, "tcp://127.0.0.1:2376", True),
        ({"DOCKER_HOST": "ssh://me@build-box"}, "ssh://me@build-box", True),
        ({"DOCKER_HOST": "unix:///run/x.sock"}, "unix:///run/x.sock", False),
        ({"DOCKER_CONTEXT": "builder"}, "docker context builder", True),
        ({}, "the local socket", False),
    ],
)
def test_remote_engines_are_named(
    environ: dict[str, str], place: str, far: bool, tmp_path: Path
) -> None:
    stack = StackInfo(engine="28.5.2", image_store="containerd")
    environ = {**environ, "DOCKER_CONFIG": str(tmp_path)}  # no config file: no current context
    assert remote.where(stack, environ) == place
    assert remote.is_remote(stack, environ) is far
    assert remote.engine_line(stack, environ).startswith("remote engine: " if far else "engine: ")


REPO = Path(__file__).resolve().parents[2]


# The install lives in a stage the final one only copies from (the write-up's multi-stage form).
COPIED_FROM = """\
FROM python:3.11-slim AS deps
COPY requirements.txt .
RUN pip install --prefix=/install -r requirements.txt
FROM python:3.11-slim
COPY --from=deps /install /usr/local
COPY . /app
"""


def test_inline_cache_misses_the_install_in_a_copied_from_stage() -> None:
    missed = teamcache.inline_misses(COPIED_FROM, None, {})
    assert len(missed) == 1 and "pip install" in missed[0] and missed[0].endswith("(stage deps)")
    naive = (REPO / "backend" / "Dockerfile.naive").read_text(encoding="utf-8")
    assert teamcache.inline_misses(naive, None, {}) == []


def _doctor(setting: str, store: str, cache_to: tuple[str, ...] = ()) -> CheckResult:
    facts = teamcache.doctor_facts(
        setting,
        project="p",
        builds={"backend": (COPIED_FROM, cache_to, None, {})},
        root=CAPTURE.parent,
        image_store=store,
        reachable_engine=True,
    )
    return check_team_cache(ProjectFacts("p", team_cache=facts))


def test_doctor_team_cache_verdicts() -> None:
    assert _doctor("", "classic").status == PASS
    assert _doctor("", "classic", ("type=registry,ref=r.example.com/x",)).status == FAIL
    assert _doctor("", "containerd", ("type=registry,ref=r.example.com/x",)).status == PASS
    bad = _doctor("https://r.example.com/x", "classic")
    assert bad.status == FAIL and "without a scheme" in bad.reason
    down = _doctor("127.0.0.1:9/team", "containerd")  # port 9: nothing listens
    assert down.status == WARN and "unreachable" in down.reason


def test_doctor_warns_about_inline_cache_stages_when_the_registry_answers() -> None:
    # The facts as gathered with a registry that answered (the docker tier asks a real one).
    misses = tuple(f"backend: {m}" for m in teamcache.inline_misses(COPIED_FROM, None, {}))
    mode, why = teamcache.export_mode("classic")
    facts = teamcache.DoctorFacts(
        "r.example.com/team", registry="r.example.com", refs=("r.example.com/team/p/backend:main",),
        mode=mode, why=why, inline_misses=misses,
    )  # fmt: skip
    inline = check_team_cache(ProjectFacts("p", team_cache=facts))
    assert inline.status == WARN and inline.details[0].startswith("backend: `RUN")
    mode, why = teamcache.export_mode("containerd")
    full = check_team_cache(
        ProjectFacts("p", team_cache=replace(facts, mode=mode, why=why, inline_misses=()))
    )
    assert full.status == PASS and "mode=max" in full.reason
    assert full.details == ("ref r.example.com/team/p/backend:main",)


def test_the_clis_current_context_counts(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"currentContext": "ci-box"}', encoding="utf-8")
    environ = {"DOCKER_CONFIG": str(tmp_path)}
    assert remote.where(None, environ) == "docker context ci-box"
    assert remote.is_remote(None, environ)
