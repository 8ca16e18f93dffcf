"""Images a build or `up` needs, is not given locally, and the engine could not pull: which
image, where the project names it, why the pull failed, and what to do instead.

Nothing is checked before the build: a build that can pull goes on as usual. When a build or
`up` fails, the engine's own words are read (captured on both stacks in `tests/data/pull`):

* a build's failing vertex, `load metadata for REF` (FROM, `COPY --from`, `RUN --mount from`)
  or `resolve image config for docker-image://REF` (the `# syntax=` frontend), and Compose's
  stderr, `failed to solve: ...: failed to resolve source metadata for REF: <why>`;
* `up`: Compose's ` SERVICE Pulling` / ` SERVICE Error <why>` lines, where engine 28 names the
  image (`failed to resolve reference "REF"`) and engine 26 often does not (`Get
  "https://registry-1.docker.io/v2/": ...`): the service's `image:` says which.

The Dockerfile model (`dockyard.dockerfile`, ARGs resolved) then says where the image is named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from dockyard.dockerfile import Dockerfile, DockerfileSyntaxError, parse
from dockyard.errors import PullFailed
from dockyard.imageref import familiar, normalize
from dockyard.progress.report import BuildReport

Why = Literal["offline", "not-found", "unauthorized", "other"]

# Where the engine names the image it could not get (build vertices, Compose's stderr).
_REFERENCES = (
    re.compile(r"load metadata for (\S+?)(?::? |$)"),
    re.compile(r"resolve image config for docker-image://(\S+?)(?::? |$)"),
    re.compile(r"failed to resolve source metadata for (\S+?)(?:: |$)"),
    re.compile(r'failed to resolve reference "([^"]+)"'),
    re.compile(r"manifest for (\S+) not found"),
    re.compile(r"pull access denied for ([^,\s]+)"),
)

# Why, in the engine's words; the first that matches wins (a refused connection also says
# "not found" nowhere, an auth failure on Docker Hub says "repository does not exist").
_WHY: tuple[tuple[Why, re.Pattern[str]], ...] = (
    (
        "offline",
        re.compile(
            r"no such host|dial tcp|connection refused|i/o timeout|network is unreachable"
            r"|no route to host|TLS handshake timeout|Client\.Timeout|server misbehaving"
            r"|temporary failure in name resolution",
            re.IGNORECASE,
        ),
    ),
    (
        "unauthorized",
        re.compile(
            r"401 Unauthorized|403 Forbidden|\bunauthorized\b|no basic auth credentials"
            r"|authorization failed|pull access denied|access to the resource is denied"
            r"|authentication required",
            re.IGNORECASE,
        ),
    ),
    ("not-found", re.compile(r"not found|manifest unknown|name unknown", re.IGNORECASE)),
)

# ` db Pulling` and ` db Error <text>` in Compose's progress on stderr (2.26 and 2.40).
# A terminal shows a status symbol first (`✘ db Error ...`).
_UP_PULLING = re.compile(r"^\s*(?:[^\w\s]\s+)?(\S+)\s+Pulling\s*$", re.MULTILINE)
_UP_ERROR = re.compile(r"^\s*(?:[^\w\s]\s+)?(\S+)\s+Error\s+(.+?)\s*$", re.MULTILINE)
_DAEMON_PREFIX = "Error response from daemon: "


@dataclass(frozen=True)
class PullError:
    """A pull the engine gave up on: the image (normalised), why, and the engine's last words."""

    reference: str
    why: Why
    words: str

    @property
    def registry(self) -> str:
        first = self.reference.split("/", 1)[0]
        return first if "/" in self.reference else "docker.io"

    @property
    def reason(self) -> str:
        """Why, for a person, with the engine's own words after it."""
        said = {
            "offline": "no registry reachable",
            "not-found": f"{self.registry} has no such image",
            "unauthorized": f"{self.registry} refused it without a login",
            "other": "the pull failed",
        }[self.why]
        return f"{said} ({self.words})" if self.words else said


def classify(text: str) -> Why:
    for why, pattern in _WHY:
        if pattern.search(text):
            return why
    return "other"


def _last_words(text: str, written: str) -> str:
    """What the engine said last: after the last quoted URL (`Head "...": dial tcp: ...`), else
    after the image's own name (`REF: not found`), else all of it."""
    text = text.strip().removeprefix(_DAEMON_PREFIX)
    if '": ' in text:
        return text.rsplit('": ', 1)[1].strip()
    for marker in (f"{written}: ", f"{written} "):  # `REF: not found`, `manifest for REF not..`
        if marker in text:
            return text.rsplit(marker, 1)[1].strip()
    return text


def read_pull_error(*texts: str) -> PullError | None:
    """The failed pull that `texts` (a failing vertex's name and error, a command's stderr)
    report, or None when they report none."""
    for text in texts:
        for line in reversed(text.strip().splitlines()):
            for pattern in _REFERENCES:
                match = pattern.search(line)
                if match:
                    written = match.group(1)
                    return PullError(normalize(written), classify(line), _last_words(line, written))
    return None


def up_pull_errors(stderr: str, images: Mapping[str, str]) -> list[tuple[str, PullError]]:
    """(service, pull error) for each service whose pull failed at `compose up`; `images` are
    the services' `image:` (engine 26 often names only the service)."""
    pulling = set(_UP_PULLING.findall(stderr))
    found: list[tuple[str, PullError]] = []
    for service, text in _UP_ERROR.findall(stderr):
        if service not in pulling or service not in images:
            continue
        named = read_pull_error(text)
        image = images[service]
        error = named or PullError(normalize(image), classify(text), _last_words(text, image))
        found.append((service, error))
    return found


@dataclass(frozen=True)
class ImageUse:
    """Where a project names an image: how (FROM, `COPY --from`, `RUN --mount from`, `#
    syntax=`, `image:`), where (`Dockerfile:2`, `service db`) and through which variables."""

    reference: str  # as the engine pulls it (ARGs resolved)
    how: str
    where: str
    build_arg: str = ""  # the ARG the Dockerfile writes it with (`FROM ${PYTHON_IMAGE}`)
    variable: str = ""  # the compose file's variable that sets it (`${POSTGRES_IMAGE:-...}`)
    service: str = ""


def build_uses(
    dockerfile: Dockerfile,
    shown: str,
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> list[ImageUse]:
    """Every image a build of `target` pulls in, with its place in the Dockerfile `shown` (the
    path as the user reads it): the `# syntax=` frontend first, then the stages' images."""
    uses: list[ImageUse] = []
    syntax = dockerfile.directives.get("syntax")
    if syntax:
        line = dockerfile.directive_line("syntax")
        uses.append(ImageUse(syntax.strip(), "# syntax=", f"{shown}:{line}"))
    for image in dockerfile.external_images(build_args, target):
        arg = ", ".join(dict.fromkeys(image.variables))
        uses.append(ImageUse(image.reference, image.how, f"{shown}:{image.line}", build_arg=arg))
    return uses


def build_pull_failure(
    report: BuildReport,
    stderr: str,
    *,
    dockerfile: str,
    shown: str,
    build_args: Mapping[str, str],
    target: str | None = None,
    subject: str,
    variable_for: Callable[[str], str | None] = lambda value: None,
    is_local: Callable[[str], bool] | None = None,
) -> PullFailed | None:
    """A failed build (its report and stderr) as a failed pull, placed in the Dockerfile (its
    text, `shown` as the user reads its path); None when the failure is no pull.

    `variable_for` names the compose variable a build arg's value comes from; `is_local` (given
    for a build with --pull) says whether the engine has the image anyway.
    """
    step = report.failing_step
    error = read_pull_error(f"{step.name}: {step.error}" if step else "", stderr)
    if error is None:
        return None
    try:
        uses = build_uses(parse(dockerfile), shown, build_args, target)
    except DockerfileSyntaxError:
        uses = []
    use = find_use(uses, error.reference)
    if use is not None and use.build_arg in build_args:
        use = replace(use, variable=variable_for(use.reference) or "")
    local = is_local is not None and is_local(error.reference)
    # Images are resolved in parallel: others may have failed too (not merely been canceled).
    also: list[str] = []
    for other in report.steps:
        found = read_pull_error(f"{other.name}: {other.error}") if other.hard_error else None
        if found is None or other.canceled or found.reference == error.reference:
            continue
        if familiar(found.reference) not in also:
            also.append(familiar(found.reference))
    return pull_failure(error, use, subject=subject, local=local, also=also)


def image_use(service: str, image: str, variable: str | None = None) -> ImageUse:
    """A service's `image:` (and the compose variable it is read from, if any)."""
    return ImageUse(image, "image:", f"service {service}", variable=variable or "", service=service)


def find_use(uses: Sequence[ImageUse], reference: str) -> ImageUse | None:
    wanted = normalize(reference)
    return next((use for use in uses if normalize(use.reference) == wanted), None)


def pull_failure(
    error: PullError,
    use: ImageUse | None,
    *,
    subject: str,
    local: bool = False,
    also: Sequence[str] = (),
) -> PullFailed:
    """One line: `cannot pull IMAGE (where, how): why (engine's words)`, and what to do.

    `subject` names what needed it when the project does not say where (`the build of app`);
    `local` says the engine has the image (so only `--pull` made it ask a registry).
    """
    image = familiar(use.reference if use else error.reference)
    where = f"{use.where}, {use.how}" if use else f"needed by {subject}"
    message = f"cannot pull {image} ({where}): {error.reason}"
    if also:
        message += f" (also: {', '.join(also)})"
    return PullFailed(message, "; ".join(_hints(error, use, image, local)))


def _hints(error: PullError, use: ImageUse | None, image: str, local: bool) -> list[str]:
    if local:
        return ["the image is in the engine: build without --pull (which asks the registry)"]
    hints: list[str] = []
    if use is not None and use.how == "# syntax=":
        hints.append(
            f"drop the `# syntax=` line ({use.where}): the engine's built-in frontend reads "
            "the Dockerfile"
        )
    if error.why == "unauthorized":
        registry = "" if error.registry == "docker.io" else f" {error.registry}"
        login = f"docker login{registry}"
        hints.append(f"`{login}` if it is private, else check the name and tag")
    elif error.why == "not-found":
        hints.append("check the name and tag (`docker image ls` lists the local images)")
    else:
        hints.append(f"`docker pull {image}` where a registry is reachable, or `docker load` it")
    hints += _instead(use)
    if len(hints) > 1:
        hints[1:] = [f"or {hint}" if not hint.startswith("or ") else hint for hint in hints[1:]]
    return hints


def _instead(use: ImageUse | None) -> list[str]:
    """What else to point at, by where the image is named."""
    if use is None or use.how == "# syntax=":
        return []
    if use.how == "image:":
        if use.variable:
            return [
                f"set {use.variable} to a local image in .env or the environment (the compose "
                f"file's image: of {use.service} reads it)"
            ]
        return [f"point image: of {use.service} at a local image (`docker image ls`)"]
    if use.how == "FROM":
        if use.variable and use.build_arg:
            return [
                f"set {use.variable} to a local image in .env or the environment (the compose "
                f"file passes it to the build ARG {use.build_arg})"
            ]
        if "," in use.build_arg:
            return [f"set the build ARGs {use.build_arg} so that the FROM names a local image"]
        if use.build_arg:
            return [f"point the build ARG {use.build_arg} at a local image (`docker image ls`)"]
        return [f"change the FROM at {use.where} to a local image (`docker image ls`)"]
    verb = "mount" if use.how.startswith("RUN") else "copy"
    return [f"{verb} from a local image or a build stage instead"]
