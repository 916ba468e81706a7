"""docs/operations.md, docs/security-and-privacy.md and docs/api-guide.md work as typed.

Every command of these docs runs here. The conventions the docs follow (and this module checks):

- ```` ```sh ```` blocks run in order, as ONE bash script per doc (``set -euo pipefail``), in a
  fresh working folder: variables a block ``export``\\ s are there for the later blocks;
- ```` ```python ```` blocks run inside that script too (``python3 - <<'EOF'``), so they read
  the exported variables from ``os.environ``;
- ```` ```console ```` blocks are not run. Each ``$`` line is either ``export NAME=value`` (an
  example value the reader replaces: never a command) or ``lgnet serve ...``. At the doc's
  LAST ``lgnet serve`` line the harness starts a real ``lgnet serve`` subprocess with the
  variables exported so far, on loopback and a free port; a doc without one gets a gateway
  started before its first block;
- ```` ```text ```` and ```` ```json ```` blocks are not run. A ```` ```text ```` block right
  after a block that runs shows output: each of its lines must appear in a line of what the
  doc's commands print (spaces normalised; ``…`` stands for anything);
- a ```` ```sh ```` block right after the line ``<!-- doc-test: postgres -->`` runs only in
  the PostgreSQL test (``LGNET_TEST_POSTGRES_URL``), with ``LGNET_DATABASE_URL`` on a fresh
  database of its own, and not in the SQLite run.

What the docs may assume, because the harness sets it: ``LGNET_URL`` (the gateway's address,
a convention of the docs and not a setting), ``LGNET_DATABASE_URL`` (SQLite in the working
folder), ``LGNET_SCHEDULER=off`` (no source is configured), and ``curl``, ``jq``,
``openssl``, ``sqlite3``, ``iconv`` and ``xxd`` on the path. ``lgnet`` is a bash function that
hands its arguments to this pytest process, which runs the command in-process (starting the
console script costs seconds a time on a busy machine); ``lgnet serve`` is the one command that
is never run that way.

The settings table of operations.md is checked against :class:`gateway.settings.Settings`:
every field listed, with its default, and no ``LGNET_`` variable in any of the docs that the
gateway does not read.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from gateway.cli import app
from gateway.settings import Settings
from tests.conftest import POSTGRES_ENV, postgres_url
from tests.docs.doc_runner import (
    API_GUIDE,
    CONSOLE_EXPORT,
    FENCE,
    NOT_RUN,
    OPERATIONS,
    POSTGRES_MARK,
    PROJECT,
    RUN,
    SECURITY,
    TOOLS,
    base_env,
    blocks,
    cli_service,
    free_port,
    run_doc,
    run_script,
    serve_argv,
    split_at_serve,
    start_gateway,
)


@pytest.fixture(scope="module")
def cli_socket() -> Iterator[Path]:
    with cli_service() as path:
        yield path


@pytest.fixture(scope="module")
def tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the docs need these tools on the path: {', '.join(missing)}")


@pytest.fixture(scope="module")
def shared_gateway(
    cli_socket: Path, tools: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """One gateway for the docs that do not start their own (they share its database)."""
    workdir = tmp_path_factory.mktemp("shared-gateway")
    port = free_port()
    env = base_env(workdir, cli_socket, port)
    env["LGNET_ISSUER"] = env["LGNET_URL"]
    server_env = {k: v for k, v in env.items() if not k.startswith("DOCTEST_")}
    gateway = start_gateway(serve_argv("lgnet serve", port), server_env, workdir, port)
    try:
        yield env
    except BaseException:
        print(f"--- lgnet serve log\n{gateway.log_tail()}")
        raise
    finally:
        gateway.stop()


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("doc", [OPERATIONS, SECURITY, API_GUIDE], ids=lambda d: d.name)
def test_blocks_follow_the_conventions(doc: Path) -> None:
    found = blocks(doc)
    assert any(b.language in RUN for b in found), f"{doc.name} runs nothing"
    for block in found:
        assert block.language in RUN | NOT_RUN, f"{doc.name}: a ```{block.language} block"
        if block.postgres:
            assert block.language == "sh", f"{doc.name}: {POSTGRES_MARK} marks a sh block"
        if block.language == "sh":
            assert not re.search(r"^\s*lgnet serve\b", block.text, re.MULTILINE), (
                f"{doc.name}: `lgnet serve` goes in a console block (the harness runs it)"
            )
        if block.language == "console":
            for command in block.console_commands():
                assert command.startswith("lgnet serve") or CONSOLE_EXPORT.match(command), (
                    f"{doc.name}: console blocks hold only `export NAME=value` and "
                    f"`lgnet serve`, not {command!r}"
                )


@pytest.mark.parametrize("doc", [OPERATIONS, SECURITY, API_GUIDE], ids=lambda d: d.name)
def test_every_serve_line_has_real_options(doc: Path) -> None:
    for block in blocks(doc):
        for command in block.console_commands():
            if command.startswith("lgnet serve"):
                result = CliRunner().invoke(app, [*shlex.split(command)[1:], "--help"])
                assert result.exit_code == 0, f"{doc.name}: {command!r}: {result.output}"


def _documented_default(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        return "development value"
    if value is None:
        return "unset"
    if isinstance(value, list):
        return f"`{json.dumps(value)}`"
    return f"`{value}`"


SETTING_ROW = re.compile(r"^\| `(LGNET_[A-Z0-9_]+)` \| ([^|]*) \|", re.MULTILINE)


def test_the_settings_table_lists_every_setting_with_its_default() -> None:
    rows = {name: cell.strip() for name, cell in SETTING_ROW.findall(OPERATIONS.read_text())}
    expected = {f"LGNET_{name.upper()}": name for name in Settings.model_fields}
    assert set(expected) - set(rows) == set(), "settings missing from docs/operations.md"
    assert set(rows) - set(expected) - {"LGNET_SPECS_DIR"} == set(), "not settings"
    for variable, name in expected.items():
        assert rows[variable] == _documented_default(name), f"default of {variable}"


def _variables_read_elsewhere() -> set[str]:
    """LGNET_ variables read outside Settings: the specs folder and source placeholders."""
    found = set()
    if 'os.environ.get("LGNET_SPECS_DIR")' in (PROJECT / "gateway" / "paths.py").read_text():
        found.add("LGNET_SPECS_DIR")
    for definition in (PROJECT / "mappings").glob("*/*.yaml"):
        found.update(re.findall(r"\$\{(LGNET_[A-Z0-9_]+)\}", definition.read_text("utf-8")))
    return found


def test_the_docs_name_no_variable_the_gateway_does_not_read() -> None:
    known = {f"LGNET_{name.upper()}" for name in Settings.model_fields}
    known |= _variables_read_elsewhere() | {"LGNET_URL"}  # LGNET_URL: the docs' convention
    for doc in (OPERATIONS, SECURITY, API_GUIDE):
        named = set(re.findall(r"\bLGNET_[A-Z0-9_]*[A-Z0-9]\b", doc.read_text("utf-8")))
        assert named - known == set(), f"{doc.name} names variables nothing reads"


def _anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", doc.read_text("utf-8")), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("doc", [OPERATIONS, SECURITY, API_GUIDE], ids=lambda d: d.name)
def test_links_between_the_docs_resolve(doc: Path) -> None:
    for target, anchor in re.findall(r"\]\(([\w./-]*\.md|)(?:#([\w-]+))?\)", doc.read_text()):
        linked = (doc.parent / target) if target else doc
        assert linked.is_file(), f"{doc.name}: link to missing {target}"
        if anchor:
            assert anchor in _anchors(linked), f"{doc.name}: no heading #{anchor} in {linked.name}"


def test_operations_runs(cli_socket: Path, tools: None, tmp_path: Path) -> None:
    env = base_env(tmp_path, cli_socket, free_port())
    run_doc(OPERATIONS, tmp_path, cli_socket, env)


@pytest.mark.parametrize("doc", [SECURITY, API_GUIDE], ids=lambda d: d.name)
def test_doc_runs_against_a_gateway(
    doc: Path, shared_gateway: dict[str, str], tmp_path: Path
) -> None:
    env = {**shared_gateway, "DOCTEST_TRACE": str(tmp_path / "trace.log")}
    assert split_at_serve(blocks(doc))[1] is None, "this doc shares a gateway"
    run_doc(doc, tmp_path, Path(env["DOCTEST_SOCKET"]), env)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    base = postgres_url()
    if base is None:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"lgnet_doc_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    libpq = admin.url.set(drivername="postgresql", database=name)
    try:
        yield libpq.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            for database in (name, f"{name}_restore"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_operations_postgres_blocks_run(
    cli_socket: Path, tools: None, tmp_path: Path, postgres_database: str
) -> None:
    marked = [b for b in blocks(OPERATIONS) if b.postgres]
    assert marked, f"operations.md has no {POSTGRES_MARK} block"
    env = base_env(tmp_path, cli_socket, free_port())
    env["LGNET_DATABASE_URL"] = postgres_database
    run_script("operations-postgres", marked, env, tmp_path)
