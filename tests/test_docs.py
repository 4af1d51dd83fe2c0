"""The tutorial site (``mkdocs.yml``, ``docs/``): every command on its pages runs, and
its strict build fails on a broken link, a missing snippet or a missing page.

How a page talks to these tests. Fenced ```` ```bash ```` blocks are commands and
```` ```python ```` blocks are programs (unless they include source with ``--8<--``);
the slow test runs them all, page after page in the order of the site's navigation,
in one temporary folder that sees the repository's ``examples/``, ``conf/`` and
``benchmarks/``, so the tutorial is followed in order as a newcomer would. HTML
comments on the lines right above a fence (no blank line between) tell the test
more:

- ``<!-- test: ARGS -->``: appended to every ``python`` command of the block (before
  any ``||``, ``&&``, ``|``, ``;`` or ``>``), for short runs such as
  ``TRAIN.epochs=1 TRAIN.iters_per_epoch=2`` (Hydra keeps the last value given).
  ``$DOCS_TEST_MNIST`` and ``$DOCS_TEST_CIFAR10`` name small data sets in the real
  file layouts that the test writes, for commands whose real data this machine lacks.
- ``<!-- test-files: DEST=FIXTURE ... -->``: copy a file of the shared fixtures to
  ``DEST`` first, standing in for what a skipped download block fetches (the
  PaddleScience checkpoint layouts in ``fixtures/paddlescience_golden``).
- ``<!-- test-creates: PATH ... -->``: files that must exist after the block.
- ``<!-- test-exit: N -->``: the exit code the block must end with (default 0).
- ``<!-- test-output -->`` above a ```` ```text ```` block: each of its lines must
  appear in the output of the block run just before it.
- ``<!-- skip: needs REASON[, REASON] -->`` with REASON among GPU, network, data: not
  run. The block's first line must say so visibly, ``# needs: REASON, ... (why)``.

Chinese pages (``page.zh.md``) must hold the same commands and markers as their
English pages (comments may be translated), so running the English ones covers both.
"""

import gzip
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Dict
from typing import List
from typing import Optional

import numpy as np
import pytest
import yaml

from conftest import FIXTURES
from conftest import REPO
from ppsci_ext.data.cifar10 import write_cifar10

DOCS = REPO / "docs"
RUN_LANGS = ("bash", "python")
# every fence must say what it holds; a command hidden in an untagged or `sh` block
# would escape the run
KNOWN_LANGS = RUN_LANGS + ("yaml", "text", "json")
MARKERS = ("test", "test-files", "test-creates", "test-exit", "test-output", "skip")
SKIP_REASONS = ("GPU", "network", "data")
MAX_SKIPPED = 12
LINKED_DIRS = ("examples", "conf", "benchmarks")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^`]*$")
_MARKER = re.compile(r"^[ \t]*<!--[ \t]*(?P<name>[\w-]+)(?::[ \t]*(?P<value>.*?))?[ \t]*-->[ \t]*$")
_PYTHON_CMD = re.compile(r"(^|[\s;&|(])python3?\s")
_SHELL_OP = re.compile(r"\s(\|\||&&|\||;|2?>)\s")
_COMMAND_LIKE = re.compile(r"^[ \t]*(python3?|pip|wget|mkdocs|pytest) \S")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    markers: Dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def includes_source(self) -> bool:
        return "--8<--" in self.code

    @property
    def runnable(self) -> bool:
        return self.lang in RUN_LANGS and not self.includes_source

    @property
    def skipped(self) -> bool:
        return "skip" in self.markers


def extract_blocks(text: str, page: str = "?") -> List[Block]:
    """The fenced code blocks of a markdown page, with the markers right above each
    (indented fences, as inside admonitions and tabs, included)."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m["indent"], m["fence"]
        markers, j = {}, i - 1
        while j >= 0 and _MARKER.match(lines[j]):
            mk = _MARKER.match(lines[j])
            markers[mk["name"]] = (mk["value"] or "").strip()
            j -= 1
        body, k = [], i + 1
        while k < len(lines) and lines[k].strip() != fence:
            body.append(lines[k][len(indent):] if lines[k].startswith(indent) else lines[k].lstrip())
            k += 1
        if k == len(lines):
            raise ValueError(f"{page}:{i + 1}: code fence never closed")
        blocks.append(Block(page, i + 1, m["lang"], "\n".join(body), markers))
        i = k + 1
    return blocks


def lines_outside_fences(text: str) -> List[str]:
    out, inside, fence = [], False, ""
    for line in text.splitlines():
        m = _FENCE.match(line)
        if not inside and m:
            inside, fence = True, m["fence"]
        elif inside and line.strip() == fence:
            inside = False
        elif not inside:
            out.append(line)
    return out


def join_continuations(code: str) -> List[str]:
    joined, current = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1].rstrip() + " "
        else:
            joined.append(current + (line.strip() if current else line))
            current = ""
    if current:
        joined.append(current.rstrip())
    return joined


def add_args(line: str, args: str) -> str:
    """``line`` with ``args`` after the arguments of its ``python`` command."""
    m = _PYTHON_CMD.search(line)
    if not m or not args:
        return line
    op = _SHELL_OP.search(line, m.end())
    cut = op.start() if op else len(line.rstrip())
    return line[:cut] + " " + args + line[cut:]


def shell_script(block: Block) -> str:
    lines = join_continuations(block.code)
    args = block.markers.get("test", "")
    return "set -euo pipefail\n" + "\n".join(add_args(line, args) for line in lines) + "\n"


def nav_pages() -> List[str]:
    """The English pages of mkdocs.yml's nav, in order, relative to docs/."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    pages = []

    def walk(node):
        if isinstance(node, str):
            pages.append(node)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(config["nav"])
    return pages


def zh_page(page: str) -> Path:
    return DOCS / (page[: -len(".md")] + ".zh.md")


def all_pages() -> List[str]:
    """Every page the site builds: the nav's English pages and the Chinese ones."""
    pages = nav_pages()
    return pages + [str(zh_page(p).relative_to(DOCS)) for p in pages if zh_page(p).is_file()]


def page_blocks(page: str) -> List[Block]:
    return extract_blocks((DOCS / page).read_text(encoding="utf-8"), page)


def skip_reasons(block: Block) -> List[str]:
    value = block.markers["skip"]
    if not value.startswith("needs "):
        return []
    return [r.strip() for r in value[len("needs "):].split(",")]


# ---------------------------------------------------------------- fast: the pages


def test_extraction_finds_fences_markers_and_continuations():
    text = (
        "Intro\n\n"
        "<!-- test: TRAIN.epochs=1 -->\n"
        "<!-- test-creates: out/a.txt -->\n"
        "```bash\n"
        "python run.py x=1 \\\n"
        "    y=2 || echo failed\n"
        "```\n\n"
        "!!! note\n"
        "    <!-- skip: needs GPU -->\n"
        "    ```bash\n"
        "    # needs: GPU\n"
        "    python big.py\n"
        "    ```\n"
    )
    first, second = extract_blocks(text, "p.md")
    assert (first.lang, first.line, first.markers) == (
        "bash", 5, {"test": "TRAIN.epochs=1", "test-creates": "out/a.txt"})
    assert shell_script(first).splitlines()[1] == "python run.py x=1 y=2 TRAIN.epochs=1 || echo failed"
    assert second.skipped and skip_reasons(second) == ["GPU"]
    assert second.code.splitlines()[0] == "# needs: GPU"
    assert add_args("timeout 30 python a.py k=v > log", "E=1") == "timeout 30 python a.py k=v E=1 > log"
    assert add_args("ls outputs", "E=1") == "ls outputs"


def test_every_block_is_runnable_or_visibly_marked():
    problems = []
    for page in all_pages():
        text = (DOCS / page).read_text(encoding="utf-8")
        blocks = extract_blocks(text, page)
        previous_runnable = False
        for block in blocks:
            unknown = set(block.markers) - set(MARKERS)
            if unknown:
                problems.append(f"{block.where}: unknown marker(s) {sorted(unknown)}; known: {MARKERS}")
            if block.lang not in KNOWN_LANGS:
                problems.append(f"{block.where}: fence language {block.lang!r}; use one of {KNOWN_LANGS}")
            if block.skipped:
                reasons = skip_reasons(block)
                if not reasons or set(reasons) - set(SKIP_REASONS):
                    problems.append(f"{block.where}: skip must read 'needs R[, R]' with R in {SKIP_REASONS}")
                first = block.code.splitlines()[0] if block.code else ""
                if not first.startswith("# needs: " + ", ".join(reasons)):
                    problems.append(f"{block.where}: a skipped block's first line must be "
                                    f"'# needs: {', '.join(reasons)} (...)', visible on the page")
                if set(block.markers) & {"test", "test-files", "test-creates", "test-exit"}:
                    problems.append(f"{block.where}: a skipped block takes no test markers")
            if "test-output" in block.markers and (block.lang != "text" or not previous_runnable):
                problems.append(f"{block.where}: test-output marks a text block right after a run block")
            if "test" in block.markers and not any(_PYTHON_CMD.search(line) for line in
                                                    join_continuations(block.code)):
                problems.append(f"{block.where}: test arguments but no python command to add them to")
            if not block.runnable and set(block.markers) - {"test-output"}:
                problems.append(f"{block.where}: markers on a block that is not run")
            if block.lang != "text":
                previous_runnable = block.runnable and not block.skipped
        for line in lines_outside_fences(text):
            if _COMMAND_LIKE.match(line):
                problems.append(f"{page}: a command outside a ```bash block: {line.strip()!r}")
    assert not problems, "\n".join(problems)


def test_skipped_blocks_are_few():
    blocks = [b for p in nav_pages() for b in page_blocks(p) if b.runnable]
    skipped = [b.where for b in blocks if b.skipped]
    assert len(blocks) >= 20, f"only {len(blocks)} command blocks found: is the extraction broken?"
    assert len(skipped) <= MAX_SKIPPED and len(skipped) <= len(blocks) // 3, skipped


def test_chinese_pages_hold_the_same_commands():
    def commands(page):
        return [(b.lang, b.markers, [line for line in b.code.splitlines() if not line.lstrip().startswith("#")])
                for b in page_blocks(page) if b.runnable]

    problems = []
    for page in nav_pages():
        zh = zh_page(page)
        if page.startswith("api/") or page == "custom_data.md":
            continue  # the API reference is shared; custom_data.md is checked if translated
        if not zh.is_file():
            problems.append(f"{page}: no Chinese page {zh.relative_to(REPO)}")
            continue
        if commands(page) != commands(str(zh.relative_to(DOCS))):
            problems.append(f"{zh.relative_to(REPO)}: its commands or markers differ from {page}'s")
    if zh_page("custom_data.md").is_file() and commands("custom_data.md") != commands("custom_data.zh.md"):
        problems.append("docs/custom_data.zh.md: its commands or markers differ from custom_data.md's")
    assert not problems, "\n".join(problems)


def _readme_bash_blocks() -> List[str]:
    return [b.code.strip() for b in extract_blocks((REPO / "README.md").read_text(), "README.md")
            if b.lang == "bash"]


def test_index_shows_the_readme_commands():
    shown = [b.code.split("\n", 1)[1].strip() for b in page_blocks("index.md") if b.lang == "bash"]
    assert shown == _readme_bash_blocks()[:2]


def test_toy_page_runs_the_commands_behind_the_toy_figure():
    # README's first command: install, then the train and eval commands that made
    # docs/images/toy_8gaussians.png and its metrics; the toy page runs those two as
    # they are, the test only shortening training
    install, train, evaluate = _readme_bash_blocks()[0].split(" && ")[2:5]
    assert install.startswith("pip install")
    toy = {line: b for b in page_blocks("experiments/toy.md") if b.runnable
           for line in join_continuations(b.code)}
    assert train in toy and evaluate in toy, (train, evaluate)
    assert toy[train].markers.get("test") == "TRAIN.epochs=1 TRAIN.iters_per_epoch=2"
    assert "test" not in toy[evaluate].markers
    assert "../images/toy_8gaussians.png" in (DOCS / "experiments/toy.md").read_text()


def test_every_module_is_in_the_api_reference():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M))
    modules = {
        ".".join(path.relative_to(REPO).with_suffix("").parts)
        for path in (REPO / "ppsci_ext").rglob("*.py")
        if path.name != "__init__.py" and not path.name.startswith("_")
    }
    assert not modules - documented, f"add to a page under docs/api/: {sorted(modules - documented)}"
    assert not documented - modules, f"documented but gone: {sorted(documented - modules)}"


# ------------------------------------------------------------ fast: the strict build


def _mkdocs(cwd: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=cwd, capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def test_site_builds_strictly_with_formulas_and_included_code(tmp_path):
    pytest.importorskip("mkdocs")
    done = _mkdocs(REPO, tmp_path / "site")
    assert done.returncode == 0, done.stderr[-4000:]
    method = (tmp_path / "site" / "method" / "index.html").read_text()
    assert 'class="arithmatex"' in method  # formulas go to MathJax
    text = re.sub(r"<[^>]+>", "", method)  # highlighted code is split into spans
    assert "def critic_step(self, penalise" in text and "--8&lt;--" not in text  # code from the source
    assert (tmp_path / "site" / "zh" / "method" / "index.html").is_file()
    api = (tmp_path / "site" / "api" / "loss" / "index.html").read_text()
    assert "ppsci_ext.loss.wasserstein.critic_loss" in api  # generated from the docstrings


@pytest.fixture
def site_copy(tmp_path):
    """The site's sources in a scratch folder, to break on purpose."""
    pytest.importorskip("mkdocs")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(REPO / "mkdocs.yml", work)
    shutil.copytree(DOCS, work / "docs")
    for name in ("ppsci_ext", "conf", "examples"):
        (work / name).symlink_to(REPO / name)
    return work


@pytest.mark.parametrize("breakage, expected", [
    ("link", "no_such_page.md"),
    ("anchor", "#no-such-section"),
    ("snippet", "no_such_file.py"),
    ("section", "no_such_section"),
    ("page", "speed.md"),
])
def test_strict_build_fails_on_what_it_must(site_copy, tmp_path, breakage, expected):
    page = site_copy / "docs" / "method.md"
    add = {
        "link": "\nSee [nothing](no_such_page.md).\n",
        "anchor": "\nSee [nothing](metrics.md#no-such-section).\n",
        "snippet": '\n```python\n--8<-- "ppsci_ext/no_such_file.py"\n```\n',
        "section": '\n```python\n--8<-- "ppsci_ext/loss/wasserstein.py:no_such_section"\n```\n',
    }
    if breakage == "page":
        (site_copy / "docs" / "speed.md").unlink()
    else:
        page.write_text(page.read_text() + add[breakage])
    done = _mkdocs(site_copy, tmp_path / "site")
    assert done.returncode != 0
    assert expected in done.stdout + done.stderr


# --------------------------------------------------------- slow: run every command


def write_tiny_mnist(path: Path) -> Path:
    """(train, valid, test) of (float32 [n, 784] in [0, 1), int64 [n]), gzipped: the
    deeplearning.net ``mnist.pkl.gz`` layout, random pixels."""
    rng = np.random.default_rng(0)
    splits = tuple(((rng.integers(0, 256, (n, 784)) / 256).astype("float32"),
                    rng.integers(0, 10, n).astype("int64")) for n in (300, 60, 200))
    with gzip.open(path, "wb") as f:
        pickle.dump(splits, f, protocol=2)
    return path


def write_tiny_cifar10(path: Path, per_batch: int = 10) -> Path:
    """A ``cifar-10-python.tar.gz`` with ``per_batch`` random images per batch file."""
    rng = np.random.default_rng(0)
    def split(n):
        return rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, n)
    return Path(write_cifar10(path, split(5 * per_batch), split(per_batch)))


@dataclass
class Ran:
    block: Block
    returncode: int
    output: str
    seconds: float


def run_block(block: Block, work: Path, env: Dict[str, str]) -> Ran:
    for pair in block.markers.get("test-files", "").split():
        dest, source = pair.split("=", 1)
        shutil.copy(FIXTURES / source, work / dest)
    if block.lang == "bash":
        script = work / "_block.sh"
        script.write_text(shell_script(block))
        cmd = ["bash", str(script)]
    else:
        script = work / "_block.py"
        script.write_text(block.code + "\n")
        cmd = [sys.executable, str(script)]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    return Ran(block, done.returncode, _ANSI.sub("", done.stdout + done.stderr),
               time.perf_counter() - start)


def check(ran: Ran, work: Path) -> Optional[str]:
    block, expected = ran.block, int(ran.block.markers.get("test-exit", "0"))
    if ran.returncode != expected:
        return (f"{block.where}: exit {ran.returncode}, expected {expected}\n"
                f"{shell_script(block) if block.lang == 'bash' else block.code}\n{ran.output[-3000:]}")
    missing = [p for p in block.markers.get("test-creates", "").split() if not (work / p).exists()]
    if missing:
        return f"{block.where}: did not create {missing}"
    return None


@pytest.mark.slow
def test_every_command_on_the_pages_runs(tmp_path):
    """The tutorial in order, as a newcomer on a fresh machine would follow it: every
    command block of every page (short runs where a page says so)."""
    if not FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {FIXTURES} (set PPSCI_EXT_FIXTURES)")
    work = tmp_path / "work"
    work.mkdir()
    for name in LINKED_DIRS:
        (work / name).symlink_to(REPO / name)
    data = tmp_path / "data"
    data.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "FID_HELPER_WHEEL"}
    env.update({
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        "PPSCI_EXT_CACHE": str(tmp_path / "cache"),  # nothing read from or written to ~/.cache
        "DOCS_TEST_MNIST": str(write_tiny_mnist(data / "mnist.pkl.gz")),
        "DOCS_TEST_CIFAR10": str(write_tiny_cifar10(data / "cifar-10-python.tar.gz")),
        "OMP_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
    })
    failures, timings, last = [], [], None
    start = time.perf_counter()
    for page in nav_pages():
        for block in page_blocks(page):
            if "test-output" in block.markers:
                expected = [line.strip() for line in block.code.splitlines() if line.strip()]
                absent = [line for line in expected if last is None or line not in last.output]
                if absent:
                    failures.append(f"{block.where}: not in the output of the block above: {absent}")
                continue
            if not block.runnable or block.skipped:
                continue
            last = run_block(block, work, env)
            timings.append((last.seconds, block.where))
            problem = check(last, work)
            if problem:
                failures.append(problem)
    total = time.perf_counter() - start
    slowest = ", ".join(f"{where} {sec:.0f}s" for sec, where in sorted(timings, reverse=True)[:5])
    print(f"{len(timings)} blocks in {total:.0f} s; slowest: {slowest}")
    assert not failures, "\n\n".join(failures)
