"""dockyard.images without Docker: names -> images, base images from Dockerfiles, budgets and
gate rules from settings, size change against the ledger, and size / history / inspect-layers
end to end through a fake Engine that serves image archives built with tarfile (the unit-test
archives of test_layers) and real captured `docker image history` rows."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import pytest

from dockyard import images
from dockyard.compose import ComposeProject
from dockyard.dockerfile import DockerfileSyntaxError, parse
from dockyard.engine import Engine
from dockyard.errors import CommandFailed, ComposeProjectError, ImageNotFound, SettingsError
from dockyard.layers import ArchiveError, GateRules
from dockyard.ledger import BuildRecord, Ledger, ServiceBuild
from dockyard.settings import Settings, load_settings
from tests.fake_engine import FakeEngine
from tests.unit.test_layers import (
    CORE,
    HISTORY,
    D,
    F,
    Image,
    docker_archive,
    history,
    layer_tar,
    oci_archive,
)

REPO = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- a fake engine


class BrokenCompose(FakeEngine):
    @cached_property
    def project(self) -> ComposeProject:
        raise ComposeProjectError("compose file not found: x.yml", "set COMPOSE_FILE")


def inspect_data(image: Image, image_id: str, size: int | None = None) -> dict[str, Any]:
    return {
        "Id": image_id,
        "Size": size if size is not None else sum(len(layer) for layer in image.layers),
        "Created": "2026-11-27T17:31:24.922486115Z",
        "RootFS": {"Type": "layers", "Layers": image.diff_ids},
        "Config": {"Labels": None},
    }


def settings_for(tmp_path: Path, **values: str) -> Settings:
    environ = {
        "COMPOSE_FILE": str(tmp_path / "compose.yml"),
        "DOCKYARD_ENV_FILE": str(tmp_path / "none.env"),
        "DOCKYARD_STATE_DIR": str(tmp_path / "state"),
        **values,
    }
    return load_settings(tmp_path, environ=environ)


BASE = Image(CORE.layers[:2], history("ADD rootfs.tar /", "RUN apt-get install -y tool"))
APP_DOCKERFILE = """\
ARG BASE=example/unused:1
FROM ${BASE} AS deps
RUN make data
FROM deps AS final
RUN make again
"""


def app_project(tmp_path: Path, **settings: str) -> FakeEngine:
    """Service `app` builds CORE on `example/base:1` (from a two-stage Dockerfile); `db` is a
    pulled image that is not here; `cache` runs the same image as `db`."""
    context = tmp_path / "app"
    context.mkdir(exist_ok=True)
    (context / "Dockerfile").write_text(APP_DOCKERFILE, encoding="utf-8")
    services: dict[str, dict[str, Any]] = {
        "app": {
            "build": {
                "context": str(context),
                "dockerfile": "Dockerfile",
                "args": {"BASE": "example/base:1"},
            },
            "image": "example/app:1",
        },
        "db": {"image": "example/db:16"},
        "cache": {"image": "docker.io/example/db:16"},
    }
    return FakeEngine(
        settings_for(tmp_path, **settings),
        services,
        images={
            "example/app:1": inspect_data(CORE, "sha256:" + "a" * 64, size=20120),
            "example/base:1": inspect_data(BASE, "sha256:" + "b" * 64, size=8400),
        },
        archives={"example/app:1": oci_archive(CORE), "example/base:1": oci_archive(BASE)},
    )


# --------------------------------------------------------------------------- base of a Dockerfile


def test_final_stage_base_follows_stage_names_back() -> None:
    dockerfile = parse(APP_DOCKERFILE)
    assert dockerfile.final_base({"BASE": "example/base:1"}) == "example/base:1"
    assert dockerfile.final_base() == "example/unused:1"  # the ARG default


def test_final_stage_base_of_the_last_stage_not_the_first() -> None:
    text = "FROM golang:1.22 AS build\nRUN go build\nFROM alpine:3.20\nCOPY --from=build /x /x\n"
    assert parse(text).final_base() == "alpine:3.20"
    assert parse(text).final_base(target="build") == "golang:1.22"
    assert parse(text).final_base(target="BUILD") == "golang:1.22"  # case-blind


def test_final_stage_base_scratch_and_no_from() -> None:
    text = "FROM python:3.11 AS b\nRUN x\nFROM scratch AS out\nCOPY --from=b /x /x\nFROM out\n"
    assert parse(text).final_base() == "scratch"
    assert parse("ARG ONLY=1\n").final_base() is None
    with pytest.raises(DockerfileSyntaxError, match="file with no instructions"):
        parse("# nothing here\n")


def test_final_stage_base_of_the_bundled_backend() -> None:
    text = (REPO / "backend" / "Dockerfile.optimized").read_text(encoding="utf-8")
    args = {"PYTHON_IMAGE": "dockyard-local/python:3.11-slim", "CACHE_ID": "x"}
    assert parse(text).final_base(args) == "dockyard-local/python:3.11-slim"
    assert parse(text).final_base() == "python:3.11-slim"


# --------------------------------------------------------------------------- settings


def test_budget_precedence(tmp_path: Path) -> None:
    limits = replace(
        settings_for(tmp_path),
        max_image_size=900,
        size_budgets={"backend": 300, "example/db:16": 200},
    )
    backend = images.Target("dockyard/backend:latest", "backend", ("backend",), True)
    db = images.Target("docker.io/example/db", "db", ("db",))  # same image as example/db:16
    other = images.Target("alpine:3")
    assert images.budget_for(limits, backend, "1MB") == (1_000_000, "--max-size")
    assert images.budget_for(limits, backend) == (300, "DOCKYARD_SIZE_BUDGETS (backend)")
    assert images.budget_for(limits, db) == (900, "DOCKYARD_MAX_IMAGE_SIZE")  # :latest != :16
    assert images.budget_for(limits, images.Target("example/db:16")) == (
        200,
        "DOCKYARD_SIZE_BUDGETS (example/db:16)",
    )
    assert images.budget_for(limits, other) == (900, "DOCKYARD_MAX_IMAGE_SIZE")
    assert images.budget_for(settings_for(tmp_path), other) == (None, "")
    with pytest.raises(SettingsError, match="--max-size: 'huge' is not a size"):
        images.budget_for(limits, other, "huge")


def test_gate_rules_flags_replace_settings(tmp_path: Path) -> None:
    limits = replace(settings_for(tmp_path), size_budgets={"app": 5000})
    app = images.Target("example/app:1", "app", ("app",), True)
    assert images.gate_rules(limits, app).rules == GateRules(0.9, 20_000_000, 5000)
    chosen = images.gate_rules(limits, app, min_efficiency="95%", max_wasted="1kB", max_size="2MB")
    assert chosen.rules == GateRules(0.95, 1000, 2_000_000)
    assert chosen.size_source == "--max-size"
    off = images.gate_rules(limits, app, min_efficiency="off", max_wasted="off", max_size="off")
    assert off.rules == GateRules(None, None, None)
    with pytest.raises(SettingsError, match="--min-efficiency"):
        images.gate_rules(limits, app, min_efficiency="most")


# --------------------------------------------------------------------------- size change


def record(ledger: Ledger, image_id: str, size: int, status: str = "ok", cached: int = 1) -> None:
    """One build of `app` with 3 countable steps, `cached` of them from cache."""
    build = ServiceBuild(
        "app",
        status,
        1.0,
        3,
        cached,
        cached / 3,
        image="example/app:1",
        image_id=image_id,
        image_size=size,
    )
    ledger.record(
        BuildRecord(
            "2026-11-27T17:00:00+00:00", "2026-11-27T17:00:01+00:00", 1.0, status, "demo", [build]
        )
    )


def test_previous_build_is_the_one_before_the_build_that_made_the_image(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    assert images.previous_build(ledger, "demo", "app", "sha256:b") is None  # no file yet
    record(ledger, "sha256:a", 100, cached=0)  # build 1: cold
    record(ledger, "sha256:x", 999, status="failed")  # build 2: failed builds never count
    record(ledger, "sha256:b", 120)  # build 3: an edit
    record(ledger, "sha256:b", 120, cached=3)  # build 4: a rebuild that made the same image
    record(ledger, "sha256:c", 120, cached=3)  # build 5: fully cached, yet a new image id
    record(ledger, "sha256:a", 100, cached=3)  # build 6: the edit reverted, cache reused

    def previous(image_id: str, project: str = "demo") -> int | None:
        found = images.previous_build(ledger, project, "app", image_id)
        return found.build_id if found else None

    assert previous("sha256:a") == 5  # made by build 6; build 5 made another image
    assert previous("sha256:c") == 4
    assert previous("sha256:b") == 1  # made by build 4 (and 3); before them: build 1
    assert previous("sha256:d") == 6  # built outside dockyard: the last recorded build
    assert previous("sha256:d", project="other") is None


# --------------------------------------------------------------------------- names and size rows


def test_resolve_service_image_reference_and_plain_names(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    assert images.resolve(engine, "app") == images.Target("example/app:1", "app", ("app",), True)
    assert images.resolve(engine, "docker.io/example/app:1").service == "app"
    assert images.resolve(engine, "db").services == ("db",)
    assert images.resolve(engine, "example/db:16").services == ("db", "cache")  # one image
    assert images.resolve(engine, "alpine:3.20") == images.Target("alpine:3.20")
    assert images.default_target(engine).service == "app"
    with pytest.raises(SettingsError):
        images.resolve(engine, " ")


def test_unknown_names_end_with_a_message_that_says_what_to_do(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    engine.images.pop("example/app:1")
    cases = {
        "app": ("app has no image yet (example/app:1)", "inv build-fast --service app"),
        "db": ("the image of db (example/db:16) is not in the engine", "docker compose pull db"),
        "nosuch:image": ("image not found: nosuch:image", "docker image ls"),
    }
    for name, (message, hint) in cases.items():
        with pytest.raises(ImageNotFound) as caught:
            images.inspect_image(engine, images.resolve(engine, name))
        assert caught.value.message == message
        assert hint in caught.value.hint


def test_without_a_compose_project_a_name_is_an_image(tmp_path: Path) -> None:
    engine = BrokenCompose(
        settings_for(tmp_path), {}, images={"example/base:1": inspect_data(BASE, "sha256:b")}
    )
    target = images.resolve(engine, "example/base:1")
    assert images.inspect_image(engine, target)["Id"] == "sha256:b"
    # Not an image either: the compose problem is the error worth reporting.
    with pytest.raises(ComposeProjectError, match="compose file not found"):
        images.inspect_image(engine, images.resolve(engine, "backend"))


def test_size_rows_of_the_whole_project(tmp_path: Path) -> None:
    engine = app_project(tmp_path, DOCKYARD_SIZE_BUDGETS="app=20kB")
    ledger = Ledger(engine.settings.ledger_path)
    record(ledger, "sha256:old", 15000)  # the image here is not in the ledger: compare with it
    rows = images.size_rows(engine, [])
    assert [(r.target.services, r.status) for r in rows] == [
        (("app",), "over budget"),
        (("db", "cache"), "not pulled"),
    ]
    app = rows[0]
    assert (app.size, app.layers, app.change, app.budget) == (20120, 5, 5120, 20000)
    assert app.previous == images.Previous(1, "sha256:old", 15000, "2026-11-27T17:00:00+00:00")
    data = json.loads(json.dumps([row.to_dict() for row in rows]))
    assert data[0] == {
        "service": "app",
        "services": ["app"],
        "image": "example/app:1",
        "present": True,
        "image_id": "sha256:" + "a" * 64,
        "size": 20120,
        "size_human": "20.1 kB",
        "layers": 5,
        "created": "2026-11-27T17:31:24.922486115Z",
        "previous": {
            "build_id": 1,
            "image_id": "sha256:old",
            "size": 15000,
            "started_at": "2026-11-27T17:00:00+00:00",
        },
        "change": 5120,
        "budget": 20000,
        "budget_source": "DOCKYARD_SIZE_BUDGETS (app)",
        "over_budget": True,
        "status": "over budget",
    }
    assert data[1]["present"] is False and data[1]["size"] is None
    failure = images.budget_failure(rows)
    assert failure is not None
    assert failure.message == (
        "app is over budget: 20.1 kB > 20.0 kB (DOCKYARD_SIZE_BUDGETS (app))"
    )
    assert "--max-size" in failure.hint


def test_size_rows_of_named_images(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    rows = images.size_rows(engine, ["example/base:1", "app", "example/app:1"], max_size="1MB")
    assert [(r.target.label, r.status, r.budget) for r in rows] == [
        ("example/base:1", "ok", 1_000_000),
        ("app", "ok", 1_000_000),
    ]
    assert rows[1].previous is None and rows[1].change is None
    assert images.budget_failure(rows) is None
    with pytest.raises(ImageNotFound, match="image not found: nosuch"):
        images.size_rows(engine, ["nosuch"])
    with pytest.raises(SettingsError, match="--max-size"):
        images.size_rows(engine, [], max_size="big")


# --------------------------------------------------------------------------- inspect-layers


def test_inspect_layers_end_to_end_with_the_dockerfile_base(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    target = images.resolve(engine, "app")
    choice = images.gate_rules(engine.settings, target)
    result = images.inspect_layers(engine, target, choice=choice, top=3)

    assert engine.saved == ["example/app:1"]
    assert result.base == images.BaseInfo(
        "example/base:1", "final stage of app/Dockerfile", tuple(BASE.diff_ids), known=True
    )
    analysis = result.analysis
    assert analysis.base_layer_count == 2
    assert (analysis.user_bytes, analysis.user_wasted_bytes) == (11720, 6610)
    assert [g.status for g in result.gate] == ["FAIL", "PASS"]
    assert result.status == "FAIL"
    assert result.notes == ()
    failure = result.failure()
    assert failure is not None
    assert failure.message == ("layer gate FAIL for app: user efficiency 43.6% < minimum 90.0%")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["gate"]["status"] == "FAIL"
    assert data["gate"]["rules"] == {
        "min_efficiency": 0.9,
        "max_wasted_bytes": 20_000_000,
        "max_size": None,
        "warn_ratio": 0.1,
    }
    assert data["analysis"]["user_wasted_bytes"] == 6610
    assert data["base"]["reference"] == "example/base:1"
    assert len(data["analysis"]["layers"][2]["largest_files"]) == 3


def test_inspect_layers_without_a_known_base_says_so(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    engine.images.pop("example/base:1")
    app = images.resolve(engine, "app")
    rules = images.GateRulesChoice(GateRules(max_wasted_bytes=10_000))
    missing = images.inspect_layers(engine, app, choice=rules)
    assert missing.analysis.base_layer_count == 0
    assert missing.notes == (
        "base image example/base:1 (final stage of app/Dockerfile) is not in the engine: "
        "every layer counted as yours (name the base with --base IMAGE)",
    )
    assert [g.status for g in missing.gate] == ["FAIL"]  # 13810 B, base waste included
    plain = images.inspect_layers(engine, images.Target("example/app:1"), choice=rules)
    assert plain.notes[0].startswith("base image unknown: every layer counted as yours")


def test_inspect_layers_with_base_flag_label_and_scratch(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    plain = images.Target("example/app:1")
    rules = images.GateRulesChoice(GateRules())
    named = images.inspect_layers(engine, plain, choice=rules, base="example/base:1")
    assert (named.base.source, named.analysis.base_layer_count) == ("--base", 2)
    with pytest.raises(ImageNotFound):
        images.inspect_layers(engine, plain, choice=rules, base="nosuch:1")

    engine.images["example/app:1"]["Config"]["Labels"] = {images.BASE_LABEL: "example/base:1"}
    labelled = images.inspect_layers(engine, plain, choice=rules)
    assert labelled.base.source == f"label {images.BASE_LABEL}"
    assert labelled.analysis.base_layer_count == 2

    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\nCOPY x /\n", encoding="utf-8")
    scratch = images.inspect_layers(engine, images.resolve(engine, "app"), choice=rules)
    assert scratch.base == images.BaseInfo(
        None, "final stage of app/Dockerfile: FROM scratch", (), known=True
    )
    assert scratch.notes == ()


def test_inspect_layers_notes_a_base_that_changed_since_the_build(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    rebuilt = Image([CORE.layers[0], layer_tar(D("etc"), F("etc/base.conf", 9))], BASE.history)
    engine.images["example/base:1"] = inspect_data(rebuilt, "sha256:new")
    result = images.inspect_layers(
        engine, images.resolve(engine, "app"), choice=images.GateRulesChoice(GateRules())
    )
    assert result.analysis.base_layer_count == 1
    assert "only the 1 bottom layers they share count as base" in result.notes[0]


# --------------------------------------------------------------------------- history


def read_rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (HISTORY / name).read_text().splitlines()]


def test_history_rows_from_real_captures_exact_and_human() -> None:
    raw = [
        images.parse_history_row(row) for row in read_rows("buildkit-args-cache-mount.raw.jsonl")
    ]
    human = [images.parse_history_row(row) for row in read_rows("buildkit-args-cache-mount.jsonl")]
    assert len(raw) == len(human) == 18
    assert [row.size for row in raw] == [0] * 5 + [9, 0, 20, 4, 10, 28, 14] + [0] * 5 + [190841962]
    for exact, shown in zip(raw, human, strict=True):
        assert exact.created == shown.created
        assert exact.instruction == shown.instruction
        assert abs(exact.size - shown.size) <= max(exact.size // 100, 0)
    assert raw[5].instruction == 'RUN echo "$GREETING" | tee /srv/greeting.txt'
    assert raw[5].created_by.startswith("RUN |3 PIP_INDEX=https://pypi.example/simple")
    assert raw[0].id.startswith("sha256:") and raw[1].id == "<missing>"
    assert raw[-1].comment == "Imported from -" and raw[-1].instruction == ""


def test_mark_base_rows() -> None:
    rows = [images.parse_history_row(row) for row in read_rows("legacy-builder.jsonl")]
    base = rows[-1:]
    marked = images.mark_base_rows(rows, base)
    assert [row.base for row in marked] == [False] * (len(rows) - 1) + [True]
    other = [images.HistoryRow("2020-01-01T00:00:00Z", 1, "", "ADD x /", "", "<missing>")]
    assert not any(row.base for row in images.mark_base_rows(rows, other))
    assert not any(row.base for row in images.mark_base_rows(rows[:1], rows))


def test_image_history_marks_the_base_rows(tmp_path: Path) -> None:
    engine = app_project(tmp_path)
    rows = read_rows("buildkit-args-cache-mount.raw.jsonl")
    engine.histories = {"example/app:1": rows, "example/base:1": rows[-1:]}
    result = images.image_history(engine, images.resolve(engine, "app"))
    assert [row.base for row in result.rows].count(True) == 1 and result.rows[-1].base
    data = json.loads(json.dumps(result.to_dict()))
    assert data["rows"][5]["size"] == 9 and data["base"]["known"] is True


# --------------------------------------------------------------------------- Engine.save


class FakeClient:
    """Just enough of python-on-whales' DockerClient for Engine.docker_cmd."""

    def __init__(self, command: list[str]) -> None:
        self.docker_cmd = command


def fake_docker(tmp_path: Path, payload: bytes, stderr: str, code: int) -> Engine:
    """An Engine whose `docker` writes `payload` to stdout and `stderr`, then exits `code`."""
    data = tmp_path / "payload.bin"
    data.write_bytes(payload)
    script = (
        "import sys\n"
        f"sys.stdout.buffer.write(open({str(data)!r}, 'rb').read()); sys.stdout.flush()\n"
        f"sys.stderr.write({stderr!r}); sys.exit({code})\n"
    )
    client = FakeClient([sys.executable, "-c", script, "--"])
    return Engine(settings_for(tmp_path), client=cast(Any, client))


def save_and_analyse(engine: Engine) -> Any:
    from dockyard.layers import analyse_archive

    with engine.save("example/app:1") as stream:
        return analyse_archive(stream)


def test_save_streams_a_whole_archive(tmp_path: Path) -> None:
    engine = fake_docker(tmp_path, docker_archive(CORE), "", 0)
    assert save_and_analyse(engine).total_bytes == 20120


def test_save_failing_mid_stream_reports_dockers_own_message(tmp_path: Path) -> None:
    archive = oci_archive(CORE)
    engine = fake_docker(
        tmp_path, archive[: len(archive) // 2], "Error response from daemon: disk full\n", 1
    )
    with pytest.raises(CommandFailed) as caught:
        save_and_analyse(engine)
    assert caught.value.message == "docker save example/app:1 failed: disk full"
    assert caught.value.call is not None and caught.value.call.return_code == 1


def test_save_of_a_missing_image(tmp_path: Path) -> None:
    engine = fake_docker(tmp_path, b"", "Error response from daemon: reference does not exist\n", 1)
    with pytest.raises(ImageNotFound, match="image not found: example/app:1"):
        save_and_analyse(engine)


def test_save_that_succeeds_with_a_broken_archive_raises_the_archive_error(
    tmp_path: Path,
) -> None:
    engine = fake_docker(tmp_path, b"not a tar at all" * 100, "", 0)
    with pytest.raises(ArchiveError):
        save_and_analyse(engine)
