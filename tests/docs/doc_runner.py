"""Runs the commands of a Markdown doc: its blocks as one bash script, `lgnet` in-process,
a real `lgnet serve`. The conventions are in ``tests/docs/test_docs_commands.py``."""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
import shlex
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.settings import SettingsError, get_settings
from tests.conftest import POSTGRES_ENV

PROJECT = Path(__file__).resolve().parents[2]
DOCS = PROJECT / "docs"
OPERATIONS = DOCS / "operations.md"
SECURITY = DOCS / "security-and-privacy.md"
API_GUIDE = DOCS / "api-guide.md"
BIN = Path(sys.executable).parent

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
POSTGRES_MARK = "<!-- doc-test: postgres -->"
RUN = {"sh", "python"}
NOT_RUN = {"console", "text", "json"}
PY_END = "DOCTEST_PYTHON_BLOCK"
CONSOLE_EXPORT = re.compile(r"^export [A-Z][A-Z0-9_]*=\S.*$")
TOOLS = ("bash", "curl", "jq", "openssl", "sqlite3", "iconv", "xxd")


# --- the docs' blocks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    language: str
    text: str
    postgres: bool

    def console_commands(self) -> list[str]:
        lines = self.text.replace("\\\n", " ").splitlines()
        return [line[2:].strip() for line in lines if line.startswith("$ ")]

    def serve_line(self) -> str | None:
        found = [c for c in self.console_commands() if c.startswith("lgnet serve")]
        return found[-1] if found else None


def blocks(doc: Path) -> list[Block]:
    source = doc.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(source):
        before = source[: match.start()].rstrip().splitlines()
        marked = bool(before) and before[-1].strip() == POSTGRES_MARK
        found.append(Block(match.group(1), match.group(2), marked))
    return found


def expected_output(doc_blocks: list[Block]) -> list[str]:
    """Lines of the text blocks that show what the block before them prints."""
    lines = []
    for previous, block in itertools.pairwise(doc_blocks):
        if block.language == "text" and previous.language in RUN and not previous.postgres:
            lines.extend(line for line in block.text.splitlines() if line.strip())
    return lines


def normalised(text: str) -> str:
    return " ".join(text.split())


def shown(expected: str, output_lines: list[str]) -> bool:
    pattern = ".*?".join(re.escape(part) for part in normalised(expected).split("…"))
    return any(re.search(pattern, line) for line in output_lines)


def as_script(parts: list[Block]) -> str:
    lines = []
    for block in parts:
        if block.language == "sh":
            lines.append(block.text)
        elif block.language == "python":
            lines.append(f"python3 - <<'{PY_END}'\n{block.text}{PY_END}\n")
    return "\n".join(lines)


def split_at_serve(doc_blocks: list[Block]) -> tuple[list[Block], str | None, list[Block]]:
    """Blocks to run before the gateway starts, the serve line, and the blocks after it."""

    def runnable(part: list[Block]) -> list[Block]:
        return [b for b in part if b.language in RUN and not b.postgres]

    serving = [i for i, b in enumerate(doc_blocks) if b.language == "console" and b.serve_line()]
    if not serving:
        return [], None, runnable(doc_blocks)
    at = serving[-1]
    return runnable(doc_blocks[:at]), doc_blocks[at].serve_line(), runnable(doc_blocks[at + 1 :])


# --- `lgnet` in-process: a bash function talks to this process over a Unix socket --------------

CLIENT = """\
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(os.environ["DOCTEST_SOCKET"])
env = {k: v for k, v in os.environ.items() if k.startswith("LGNET_") or k == "COLUMNS"}
s.sendall(json.dumps({"argv": sys.argv[1:], "env": env, "cwd": os.getcwd()}).encode())
s.shutdown(socket.SHUT_WR)
answer = json.loads(b"".join(iter(lambda: s.recv(65536), b"")))
sys.stdout.write(answer["stdout"])
sys.stderr.write(answer["stderr"])
sys.exit(answer["code"])
"""


def run_cli(argv: list[str], env: dict[str, str], cwd: str) -> dict[str, Any]:
    """Run ``lgnet ARGV`` in this process as the console script would, in ``cwd`` with ``env``."""
    if argv[:1] == ["serve"]:
        return {"stdout": "", "stderr": "the doc harness starts `lgnet serve` itself\n", "code": 2}
    overrides: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("LGNET_") and name != POSTGRES_ENV
    }
    overrides.update(env)
    previous = os.getcwd()
    get_settings.cache_clear()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, argv, env=overrides)
    finally:
        os.chdir(previous)
        get_settings.cache_clear()
        # Commands leave their engines to the end of the process; close their connections now.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    stderr, code = result.stderr, result.exit_code
    error = result.exception
    if error is not None and not isinstance(error, SystemExit):
        if isinstance(error, SettingsError):  # what gateway.cli.main does
            stderr, code = f"{stderr}error: {error}\n", 2
        else:
            stderr, code = stderr + "".join(traceback.format_exception(error)), 1
    return {"stdout": result.stdout, "stderr": stderr, "code": code}


class _CliHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        request = json.loads(self.rfile.read())
        answer = run_cli(request["argv"], request["env"], request["cwd"])
        self.wfile.write(json.dumps(answer).encode())


@contextmanager
def cli_service() -> Iterator[Path]:
    """Serve ``lgnet`` commands on a Unix socket; yield its path (the client script is beside)."""
    folder = Path(tempfile.mkdtemp(prefix="lgnet-doc-"))  # short: Unix socket paths are limited
    path = folder / "cli.sock"
    server = socketserver.UnixStreamServer(str(path), _CliHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (folder / "lgnet_client.py").write_text(CLIENT, encoding="utf-8")
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(folder, ignore_errors=True)


# --- a real `lgnet serve` ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Gateway:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])


def serve_argv(line: str, port: int) -> list[str]:
    """The doc's ``lgnet serve ...`` line, on loopback and ``port``."""
    words = shlex.split(line)[2:]
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--host", "--port"):
            skip = True
        elif not word.startswith(("--host=", "--port=")):
            kept.append(word)
    return [str(BIN / "lgnet"), "serve", *kept, "--host", "127.0.0.1", "--port", str(port)]


def start_gateway(argv: list[str], env: dict[str, str], cwd: Path, port: int) -> Gateway:
    log = cwd / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    gateway = Gateway(process, log)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"lgnet serve exited with {process.returncode}:\n{gateway.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                if r.status == 200:
                    return gateway
        except OSError:
            time.sleep(0.2)
    gateway.stop()
    pytest.fail(f"lgnet serve was not ready in time:\n{gateway.log_tail()}")


# --- running a doc -----------------------------------------------------------------------------


PRELUDE = """\
set -euo pipefail
exec {trace}>>"$DOCTEST_TRACE"
BASH_XTRACEFD=$trace
set -x
lgnet() { "$DOCTEST_PYTHON" -S "$DOCTEST_CLIENT" "$@"; }
"""


def base_env(workdir: Path, socket_path: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LGNET_", "DOCTEST_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        COLUMNS="120",
        NO_COLOR="1",
        LGNET_URL=f"http://127.0.0.1:{port}",
        LGNET_DATABASE_URL=f"sqlite:///{workdir}/var/lgnet.db",
        LGNET_SCHEDULER="off",
        DOCTEST_SOCKET=str(socket_path),
        DOCTEST_CLIENT=str(socket_path.parent / "lgnet_client.py"),
        DOCTEST_PYTHON=sys.executable,
        DOCTEST_TRACE=str(workdir / "trace.log"),
    )
    return env


def run_script(
    name: str, parts: list[Block], env: dict[str, str], cwd: Path, *, env_out: Path | None = None
) -> str:
    """Run the blocks as one bash script; return what it printed (stdout, then stderr)."""
    body = PRELUDE + as_script(parts)
    if env_out is not None:
        body += f'\nenv -0 > "{env_out}"\n'
    script = cwd / f"{name}.sh"
    script.write_text(body, encoding="utf-8")
    result = subprocess.run(
        ["bash", str(script)], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )
    if os.environ.get("DOCTEST_VERBOSE"):  # pytest -s: see what the doc's commands print
        print(f"--- {name}: stdout\n{result.stdout}\n--- {name}: stderr\n{result.stderr}")
    if result.returncode != 0:
        trace = Path(env["DOCTEST_TRACE"])
        last = trace.read_text(errors="replace").splitlines()[-15:] if trace.exists() else []
        pytest.fail(
            f"{name}: exit {result.returncode}\n--- last commands\n"
            + "\n".join(last)
            + f"\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
    return result.stdout + "\n" + result.stderr


def read_env(path: Path) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in path.read_text().split("\0") if "=" in item)
    return {name: value for name, value in pairs if not name.startswith("BASH_FUNC_")}


def run_doc(doc: Path, workdir: Path, socket_path: Path, gateway_env: dict[str, str]) -> None:
    """Run ``doc``: its blocks before the serve line, a gateway, the blocks after it."""
    doc_blocks = blocks(doc)
    before, serve_line, after = split_at_serve(doc_blocks)
    env = dict(gateway_env)
    printed = ""
    port = int(env["LGNET_URL"].rsplit(":", 1)[1])
    gateway: Gateway | None = None
    try:
        if serve_line is not None:
            saved = workdir / "exported.env"
            printed = run_script(f"{doc.stem}-before-serve", before, env, workdir, env_out=saved)
            env = read_env(saved)
            server_env = {k: v for k, v in env.items() if not k.startswith("DOCTEST_")}
            gateway = start_gateway(serve_argv(serve_line, port), server_env, workdir, port)
        printed += run_script(doc.stem, after, env, workdir)
    except BaseException:
        if gateway is not None:
            print(f"--- lgnet serve log\n{gateway.log_tail()}")
        raise
    finally:
        if gateway is not None:
            gateway.stop()
    output_lines = [normalised(line) for line in printed.splitlines()]
    missing = [line for line in expected_output(doc_blocks) if not shown(line, output_lines)]
    assert not missing, f"{doc.name}: output shown in text blocks was not printed: {missing}"
