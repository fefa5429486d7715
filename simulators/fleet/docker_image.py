"""The docker backend's image, built here without any image registry::

    python -m simulators.fleet.docker_image            # build camfleet-sim:latest if stale
    python -m simulators.fleet.docker_image --force    # rebuild all three images

Three images, each built only when its image is missing or its inputs changed:

1. ``camfleet-base:bookworm``: ``debootstrap --variant=minbase`` of Debian bookworm with
   ``python3`` and ``python3-venv``, from the Debian mirror this machine's apt sources name,
   imported with ``docker import`` (needs root and the ``debootstrap`` package);
2. ``camfleet-deps:<hash of the dependency list>`` (``Dockerfile.deps``): a venv with every
   dependency, resolved *on this machine* by ``pip wheel`` with the pip configuration it has
   (index, extra indexes, constraints), installed in the image with ``--no-index``;
3. ``camfleet-sim:latest`` (``Dockerfile``): the project's own wheel on top.

Builds run with no network at all. The image carries ``camfleet.inputs``, a hash of what
``pip install .`` reads (pyproject, README, the packages) and of the base recipe, so the
backend can tell a stale image from a fresh one. Dependencies are resolved when their image is
built; ``--force`` picks up new releases. Only a local daemon is used, as by the backend.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simulators.fleet.docker_daemon import DockerBackendError, local_client

__all__ = [
    "BASE_IMAGE",
    "DEFAULT_IMAGE",
    "IMAGE_ENV",
    "BuildReport",
    "ImageBuildError",
    "build_image",
    "debian_mirror",
    "image_name",
    "inputs_hash",
    "source_root",
]

#: The image the docker backend runs unless ``$CAMFLEET_DOCKER_IMAGE`` names another.
DEFAULT_IMAGE = "camfleet-sim:latest"
IMAGE_ENV = "CAMFLEET_DOCKER_IMAGE"
#: The Debian base, imported from a debootstrap tree.
BASE_IMAGE = "camfleet-base:bookworm"
DEPS_REPOSITORY = "camfleet-deps"
#: The suite of the base; its python3 must be the minor version pip resolves wheels for.
SUITE = "bookworm"
BASE_PACKAGES = ("python3", "python3-venv")
#: Image labels: the hash of the inputs an image was built from.
INPUTS_LABEL = "camfleet.inputs"
DEPS_LABEL = "camfleet.deps"
BASE_LABEL = "camfleet.base"
PYTHON_LABEL = "camfleet.python"
#: Bump when the way the base tree is made changes (not its package versions).
_BASE_RECIPE = f"debootstrap minbase {SUITE} {','.join(BASE_PACKAGES)} apt-caches-dropped v1"
_HERE = Path(__file__).parent
_APT = Path("/etc/apt")

Log = Callable[[str], None]


class ImageBuildError(RuntimeError):
    """The image could not be built; the message says which step failed and why."""


@dataclass(frozen=True)
class BuildReport:
    image: str
    inputs: str
    #: Which of base, deps and image were built (the others were up to date).
    built: tuple[str, ...]
    seconds: float


def image_name() -> str:
    """The image to build and run: ``$CAMFLEET_DOCKER_IMAGE``, else :data:`DEFAULT_IMAGE`."""
    return os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE


# -- inputs --------------------------------------------------------------------------------------

def source_root() -> Path | None:
    """The source checkout this package runs from (editable install), or None if installed."""
    root = Path(__file__).resolve().parents[2]
    try:
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return root if project.get("project", {}).get("name") == "camfleet" else None


def _pyproject(root: Path) -> dict[str, Any]:
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))


def _input_files(root: Path) -> Iterator[Path]:
    """What ``pip install .`` reads: pyproject, the readme, every file of the packages."""
    pyproject = _pyproject(root)
    yield root / "pyproject.toml"
    readme = pyproject["project"].get("readme")
    if isinstance(readme, str):
        yield root / readme
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    for top in sorted({p.split(".")[0].rstrip("*") for p in patterns}):
        for path in sorted((root / top).rglob("*")):
            if (path.is_file() and "__pycache__" not in path.parts
                    and path.suffix not in (".pyc", ".pyo")):
                yield path


def inputs_hash(root: Path) -> str:
    """sha256 over the base recipe and every input file's path and bytes."""
    digest = hashlib.sha256(_BASE_RECIPE.encode())
    for path in _input_files(root):
        digest.update(b"\0" + path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _deps_hash(root: Path) -> str:
    """sha256 over what decides the dependency image: base recipe, Python, dependency list."""
    project = _pyproject(root)["project"]
    recipe = {"base": _BASE_RECIPE, "python": _python_here(),
              "dockerfile": (_HERE / "Dockerfile.deps").read_text(encoding="utf-8"),
              "dependencies": project.get("dependencies", [])}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _python_here() -> str:
    return f"{sys.version_info[0]}.{sys.version_info[1]}"


def debian_mirror(apt_dir: Path = _APT, suite: str = SUITE) -> str:
    """The first apt source of ``suite`` with component ``main`` (deb822 or one-line lists)."""
    for suites, components, uri in _apt_sources(apt_dir):
        if suite in suites and "main" in components:
            return uri
    raise ImageBuildError(f"no apt source for Debian {suite} main in {apt_dir}/sources.list"
                          f"{{,.d/*}}; debootstrap needs a mirror")


def _apt_sources(apt_dir: Path) -> Iterator[tuple[list[str], list[str], str]]:
    """(suites, components, URI) of every enabled ``deb`` source."""
    lists = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()  # drop [options]
            if len(words) >= 3 and words[0] == "deb":
                yield [words[2]], words[3:], words[1]
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if not line.startswith("#") and ":" in line and not line[0].isspace():
                    key, value = line.split(":", 1)
                    fields[key.strip().lower()] = value.strip()
            if ("deb" in fields.get("types", "").split()
                    and fields.get("enabled", "yes").lower() != "no"):
                for uri in fields.get("uris", "").split():
                    yield (fields.get("suites", "").split(),
                           fields.get("components", "").split(), uri)


# -- building ------------------------------------------------------------------------------------

def docker_errors() -> Any:
    """``docker.errors``, imported when first needed (heavy; an optional extra)."""
    return importlib.import_module("docker.errors")


def _labels_of(client: Any, image: str) -> dict[str, str] | None:
    """The image's labels, or None if there is no such image."""
    try:
        found = client.images.get(image)
    except docker_errors().ImageNotFound:
        return None
    return dict(found.labels or {})


def _run(step: str, command: Sequence[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-3000:]
        raise ImageBuildError(f"{step} failed (exit {result.returncode}):\n{tail}")


def _recipe_hash() -> str:
    return hashlib.sha256(_BASE_RECIPE.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Builder:
    """One build: the daemon, the checkout, a scratch directory, where progress goes."""

    client: Any
    root: Path
    workdir: Path
    log: Log

    def base(self) -> None:
        if shutil.which("debootstrap") is None:
            raise ImageBuildError("debootstrap is not installed (Debian package "
                                  "'debootstrap'); the base image is bootstrapped from the "
                                  "Debian mirror")
        if os.geteuid() != 0:
            raise ImageBuildError("building the base image needs root (debootstrap)")
        mirror = debian_mirror()
        tree = self.workdir / "rootfs"
        self.log(f"debootstrap {SUITE} from {mirror} ...")
        _run("debootstrap", ["debootstrap", "--variant=minbase",
                             f"--include={','.join(BASE_PACKAGES)}", SUITE, str(tree), mirror])
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (tree / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        python = subprocess.run(["chroot", str(tree), "python3", "-c",
                                 "import sys; print(f'{sys.version_info[0]}."
                                 "{sys.version_info[1]}')"],
                                capture_output=True, text=True, check=True).stdout.strip()
        archive = self.workdir / "rootfs.tar"
        _run("tar", ["tar", "--numeric-owner", "-C", str(tree), "-cf", str(archive), "."])
        shutil.rmtree(tree)
        repository, tag = BASE_IMAGE.split(":")
        self.log(f"docker import -> {BASE_IMAGE} (python {python})")
        self.client.api.import_image(src=str(archive), repository=repository, tag=tag, changes=[
            f"LABEL {BASE_LABEL}={_recipe_hash()} {PYTHON_LABEL}={python}",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]'])
        archive.unlink()

    def deps(self, tag: str, deps_hash: str) -> None:
        base_python = (_labels_of(self.client, BASE_IMAGE) or {}).get(PYTHON_LABEL)
        if base_python != _python_here():
            raise ImageBuildError(f"the base image has python {base_python}, this interpreter "
                                  f"is {_python_here()}: pip resolves wheels for this one; run "
                                  f"the build with a python {base_python}")
        context = self.workdir / "deps-context"
        self.log("pip wheel: the dependencies, with this machine's pip settings ...")
        self._pip_wheel(context / "deps", deps=True)
        self.log(f"docker build -> {tag}")
        self._docker_build(context, "Dockerfile.deps", tag, {DEPS_LABEL: deps_hash})
        for image in self.client.images.list(DEPS_REPOSITORY):
            if tag not in image.tags:  # built for an earlier dependency list
                with contextlib.suppress(docker_errors().APIError):  # in use: it stays
                    self.client.images.remove(image.id)

    def sim(self, image: str, deps_tag: str, inputs: str) -> None:
        context = self.workdir / "context"
        self.log("pip wheel: the project ...")
        self._pip_wheel(context / "project", deps=False)
        self.log(f"docker build -> {image}")
        self._docker_build(context, "Dockerfile", image, {INPUTS_LABEL: inputs},
                           {"DEPS_IMAGE": deps_tag})

    def _pip_wheel(self, into: Path, *, deps: bool) -> None:
        """Wheels as this machine's pip resolves them (its index, extra indexes, constraints)."""
        into.mkdir(parents=True)
        _run("pip wheel", [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir",
                           str(into), *([] if deps else ["--no-deps"]), str(self.root)])
        if deps:  # the project's own wheel goes into the next image, not this one
            for wheel in into.glob("camfleet-*.whl"):
                wheel.unlink()

    def _docker_build(self, context: Path, dockerfile: str, tag: str, labels: dict[str, str],
                      buildargs: dict[str, str] | None = None) -> None:
        """``docker build`` without network or pulls."""
        shutil.copy(_HERE / dockerfile, context / dockerfile)
        try:
            self.client.images.build(path=str(context), dockerfile=dockerfile, tag=tag,
                                     labels=labels, buildargs=buildargs or {},
                                     network_mode="none", pull=False, rm=True, forcerm=True)
        except docker_errors().BuildError as exc:
            output = "".join(str(part.get("stream", part.get("error", "")))
                             for part in exc.build_log)
            raise ImageBuildError(f"docker build of {tag} failed: {exc}\n"
                                  f"{output[-3000:]}") from exc
        # The image this tag named before and multi-stage leftovers: untagged, and ours (they
        # inherit the base's label). One still used by a container stays until that one goes.
        self.client.images.prune(filters={"dangling": True, "label": BASE_LABEL})


def build_image(image: str | None = None, *, force: bool = False,
                log: Log = lambda line: None) -> BuildReport:
    """Build what is missing or stale; return what was built and how long it took."""
    began = time.monotonic()
    image = image or image_name()
    root = source_root()
    if root is None:
        raise ImageBuildError("the image is built from a source checkout of camfleet; this "
                              "one is installed without its pyproject.toml")
    inputs, deps_hash = inputs_hash(root), _deps_hash(root)
    deps_tag = f"{DEPS_REPOSITORY}:{deps_hash[:16]}"
    try:
        client = local_client()
    except DockerBackendError as exc:
        raise ImageBuildError(str(exc)) from exc
    built: list[str] = []
    try:
        if force or (_labels_of(client, BASE_IMAGE) or {}).get(BASE_LABEL) != _recipe_hash():
            built.append("base")
        if built or force or _labels_of(client, deps_tag) is None:
            built.append("deps")
        if built or (_labels_of(client, image) or {}).get(INPUTS_LABEL) != inputs:
            built.append("image")
        with tempfile.TemporaryDirectory(prefix="camfleet-image-", dir="/var/tmp") as tmp:
            builder = _Builder(client, root, Path(tmp), log)
            if "base" in built:
                builder.base()
            if "deps" in built:
                builder.deps(deps_tag, deps_hash)
            if "image" in built:
                builder.sim(image, deps_tag, inputs)
    finally:
        client.close()
    return BuildReport(image=image, inputs=inputs, built=tuple(built),
                       seconds=time.monotonic() - began)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulators.fleet.docker_image",
                                     description="Build the docker backend's image here, "
                                                 "without a registry (skipped when fresh).")
    parser.add_argument("--image", help="tag to build (default: $CAMFLEET_DOCKER_IMAGE or "
                                        "camfleet-sim:latest)")
    parser.add_argument("--force", action="store_true", help="rebuild base, deps and image")
    args = parser.parse_args(argv)
    try:
        report = build_image(args.image, force=args.force,
                             log=lambda line: print(line, file=sys.stderr, flush=True))
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    what = f"built {', '.join(report.built)}" if report.built else "up to date"
    print(f"{report.image}: {what} in {report.seconds:.1f} s (inputs {report.inputs[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
