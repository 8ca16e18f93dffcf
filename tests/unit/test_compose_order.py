"""Services in the order the compose files write them (`compose.file_service_order`), since
`docker compose config --format json` lists them sorted by name on both stacks (s1, s10, s11,
..., s2; seen on Compose 2.26 and 2.40, and `tests/docker/test_tables.py` checks it on each)."""

from __future__ import annotations

import io
from pathlib import Path

from dockyard import render
from dockyard.compose import ComposeProject, file_service_order
from dockyard.engine.compose import ServiceState
from dockyard.ledger import ServiceBuild
from dockyard.render import timing as render_timing

NAMES = [f"s{n}" for n in range(1, 21)]


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def services_yaml(names: list[str]) -> str:
    return "services:\n" + "".join(f"  {n}:\n    image: example/{n}:1\n" for n in names)


def sorted_config(names: list[str]) -> dict[str, object]:
    """What `compose config --format json` gives: the same services, sorted by name."""
    return {"name": "p", "services": {n: {"image": f"example/{n}:1"} for n in sorted(names)}}


def test_twenty_services_in_file_order(tmp_path: Path) -> None:
    main = write(tmp_path / "compose.yaml", services_yaml(NAMES))
    assert file_service_order([main]) == NAMES
    project = ComposeProject.from_config(sorted_config(NAMES), files=[main])
    assert list(project.services) == NAMES
    assert sorted(NAMES)[:3] == ["s1", "s10", "s11"]  # what Compose's model lists


def test_several_files_first_appearance_wins(tmp_path: Path) -> None:
    main = write(tmp_path / "compose.yaml", services_yaml(["web", "db", "cache"]))
    more = write(
        tmp_path / "compose.override.yaml",
        "services:\n  worker:\n    image: w\n  db:\n    environment: {A: '1'}\n",
    )
    assert file_service_order([main, more]) == ["web", "db", "cache", "worker"]
    assert file_service_order([more, main]) == ["worker", "db", "web", "cache"]


def test_include_counts_where_it_stands(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "compose.yaml", services_yaml(["inc1", "inc2"]))
    write(tmp_path / "other.yaml", services_yaml(["inc3"]))
    before = write(
        tmp_path / "before.yaml",
        "include:\n  - sub/compose.yaml\n  - path: [other.yaml]\n" + services_yaml(["own"]),
    )
    after = write(
        tmp_path / "after.yaml", services_yaml(["own"]) + "include:\n  - path: sub/compose.yaml\n"
    )
    assert file_service_order([before]) == ["inc1", "inc2", "inc3", "own"]
    assert file_service_order([after]) == ["own", "inc1", "inc2"]


def test_compose_tags_anchors_and_extends_are_read(tmp_path: Path) -> None:
    text = """\
x-common: &common
  image: example/common:1
services:
  b:
    <<: *common
    ports: !reset []
  a:
    extends:
      service: b
    environment: !override
      A: "1"
  "10":
    image: example/ten:1
"""
    assert file_service_order([write(tmp_path / "compose.yaml", text)]) == ["b", "a", "10"]


def test_unreadable_files_add_nothing_and_compose_order_is_kept(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.yaml", "services: [\n")
    missing = tmp_path / "missing.yaml"
    listed = write(tmp_path / "list.yaml", "- just a list\n")
    assert file_service_order([broken, missing, listed]) == []
    partial = write(tmp_path / "partial.yaml", services_yaml(["s2", "s1"]))
    project = ComposeProject.from_config(sorted_config(["s1", "s2", "s10"]), files=[partial])
    assert list(project.services) == ["s2", "s1", "s10"]  # the rest after, as Compose lists


def test_ps_and_the_timing_trend_follow_the_project_order(tmp_path: Path) -> None:
    names = ["web", "db", "cache"]
    main = write(tmp_path / "compose.yaml", services_yaml(names))
    project = ComposeProject.from_config(sorted_config(names), files=[main])
    states = [
        ServiceState(s, f"p-{s}-{i}", "running", "", 0, "")
        for s in ("cache", "db", "web", "gone")
        for i in (1, 2)
    ]
    ordered = project.in_order(states, lambda s: s.service)
    assert [s.name for s in ordered] == [
        "p-web-1", "p-web-2", "p-db-1", "p-db-2", "p-cache-1", "p-cache-2", "p-gone-1", "p-gone-2",
    ]  # fmt: skip

    builds = [ServiceBuild(s, "ok", 1.0, 2, 1, 0.5, build_id=1) for s in ("cache", "db", "web")]
    out = render.make_console(file=io.StringIO(), width=80, color_system=None)
    render_timing.trend_chart(out, builds, width=4, order=list(project.services))
    file = out.file
    assert isinstance(file, io.StringIO)
    heads = [line.split(":")[0] for line in file.getvalue().splitlines() if "seconds" in line]
    assert heads == names
