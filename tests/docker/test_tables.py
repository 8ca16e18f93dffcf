"""A 20-service project through the real CLI at 80 columns: services in the compose files' order
(not `compose config`'s sorted s1, s10, s11, ...) in build-fast, size, timing and doctor, and
image references in the tables cut only at a `/`, `:` or `@`, never folded mid-word."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.conftest import PYTHON_IMAGE, DockerStack
from tests.docker.helpers import Project, unique

pytestmark = pytest.mark.docker

COUNT = 20
ORDER = [f"s{n}" for n in range(1, COUNT + 1)] + ["extra"]  # as the two files write them
BOUNDARY = "/:@"


def image_of(project: Project, service: str) -> str:
    # Long enough that no 80-column table can show it whole next to the other columns.
    return f"dockyard-test/tables-{project.name}/a-long-repository-path/{service}:{project.name}"


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, docker_stack: DockerStack
) -> Iterator[Project]:
    root = tmp_path_factory.mktemp("tables")
    (root / "app").mkdir()
    (root / "app" / "Dockerfile").write_text(
        "ARG BASE\nFROM ${BASE}\nRUN echo tables > /tables.txt\n", encoding="utf-8"
    )
    (root / "dockyard.env").write_text("", encoding="utf-8")
    (root / ".env").write_text("", encoding="utf-8")
    name = unique("dyt-tables")
    proj = Project(root=root, name=name, compose_files=[root / "compose.yaml", root / "more.yaml"])
    build = f"    build:\n      context: ./app\n      args:\n        BASE: {PYTHON_IMAGE}\n"
    main = ["services:"]
    for service in ORDER[:-1]:
        main += [f"  {service}:", build.rstrip("\n"), f"    image: {image_of(proj, service)}"]
    (root / "compose.yaml").write_text("\n".join(main) + "\n", encoding="utf-8")
    # A second file: s3 again (its first appearance stays where it was), then a new service.
    (root / "more.yaml").write_text(
        "services:\n  extra:\n" + build + f"    image: {image_of(proj, 'extra')}\n"
        "  s3:\n    environment:\n      FROM_MORE: '1'\n",
        encoding="utf-8",
    )
    try:  # a build that fails half-way still leaves images of this run: removed too
        report = proj.inv_json("build-fast", COLUMNS="80")
        assert report["status"] == "ok", report
        (root / "build-report.json").write_text(json.dumps(report), encoding="utf-8")
        yield proj
    finally:
        proj.teardown([image_of(proj, service) for service in ORDER])


def cells(output: str, column: int = 0) -> list[str]:
    """The text of one column in every row of the tables of `output` (rich's light boxes)."""
    found = []
    for line in output.splitlines():
        if line.startswith("│"):
            parts = line.split("│")
            if len(parts) > column + 1:
                found.append(parts[column + 1].strip())
    return found


def cut_at_a_boundary(shown: str, reference: str) -> bool:
    """`shown` is `reference`, or it cut with an ellipsis only where a `/`, `:` or `@` is."""
    if shown == reference:
        return True
    inner = shown.strip("…")
    if not inner or "…" in inner or inner not in reference:
        return False
    start = reference.find(inner)
    if shown.startswith("…") and inner[0] not in BOUNDARY:
        return False
    if shown.endswith("…") and not (
        inner[-1] in BOUNDARY
        or (start + len(inner) < len(reference) and reference[start + len(inner)] in BOUNDARY)
    ):
        return False
    if not shown.endswith("…") and not reference.endswith(inner):
        return False  # a cut tail must run to the reference's end
    return shown.startswith("…") or start == 0


def assert_references_whole_or_cut(project: Project, output: str) -> None:
    shown = [c for c in cells(output) if c and not re.fullmatch(r"s\d+|extra|[\w ]+", c)]
    assert shown, output
    references = [image_of(project, s) for s in ORDER]
    for text in shown:
        assert any(cut_at_a_boundary(text, ref) for ref in references), (text, output)
    # Nothing of a reference is folded onto a line of its own.
    assert not any(c.startswith(("tables-", "a-long", "repository")) for c in cells(output))
    assert max(len(line) for line in output.splitlines()) <= 80


def service_order(output: str) -> list[str]:
    return [c for c in cells(output) if re.fullmatch(r"s\d+|extra", c)]


def test_build_fast_summary_in_file_order_at_80_columns(project: Project) -> None:
    report = json.loads((project.root / "build-report.json").read_text(encoding="utf-8"))
    assert [s["service"] for s in report["services"]] == ORDER
    done = project.inv("build-fast", COLUMNS="80")  # fully cached now: the summary table
    assert done.returncode == 0, done.stderr
    summary = done.stdout[done.stdout.index("Build summary") :]
    summary = summary[: summary.index("\n\n")] if "\n\n" in summary else summary
    assert service_order(summary) == ORDER
    assert_references_whole_or_cut(project, summary)


def test_size_in_file_order_at_80_columns(project: Project) -> None:
    rows = project.inv_json("size")
    assert [row["service"] for row in rows] == ORDER
    done = project.dockyard("size", COLUMNS="80")
    assert done.returncode == 0, done.stderr
    assert service_order(done.stdout) == ORDER
    assert_references_whole_or_cut(project, done.stdout)


def test_timing_history_and_doctor_in_file_order(project: Project) -> None:
    done = project.inv("timing", "--history", "--last", "100", COLUMNS="80")
    assert done.returncode == 0, done.stderr
    history = [c for c in cells(done.stdout, 3) if re.fullmatch(r"s\d+|extra", c)]
    assert history[-COUNT - 1 :] == ORDER  # the latest build, oldest first
    charts = re.findall(r"^(s\d+|extra): seconds per build", done.stdout, flags=re.M)
    assert charts == ORDER
    doctor = project.inv("doctor", "--json", COLUMNS="80")
    assert doctor.returncode in (0, 1), doctor.stderr
    scopes = [c["scope"] for c in json.loads(doctor.stdout)["checks"]]
    services = [
        s.removeprefix("service ") for s in dict.fromkeys(scopes) if s.startswith("service ")
    ]
    assert services == ORDER, scopes


def test_the_yaml_order_is_not_what_compose_gives(project: Project) -> None:
    """Why the files are read: Compose's own JSON model lists the services sorted by name."""
    done = project.compose("config", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert list(json.loads(done.stdout)["services"]) == sorted(ORDER)
    assert sorted(ORDER) != ORDER
