"""Every Python and shell block of the README and the documentation runs as written (statistics capped unless
MCDH_README_FULL=1); the documentation site builds with zero warnings; the README stays a front page."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import mcdh_command

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
GUIDES = [ROOT / "docs" / f"{name}.md" for name in
          ("files", "scans", "widths", "likelihoods", "fit", "conventions", "performance", "development")]
"""The pages whose examples continue the README's, in order: their shell lines share one folder (a later
command reads what an earlier one wrote), each Python block runs on its own."""
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
"""Each tutorial's Python blocks are one script: the steps of one session."""
FULL = os.environ.get("MCDH_README_FULL") == "1"
CAP = 3000
SKIP = ("pip ", "pytest", "asv ", "python -m pytest", "benchmarks/gate")


def blocks(language: str, pages=(README, *GUIDES)) -> list[str]:
    return [b for page in pages for b in re.findall(rf"```{language}\n(.*?)```", page.read_text(), flags=re.S)]


def shell_commands() -> list[str]:
    """The README's shell lines in order; `a && b` lines keep the parts that are not set-up."""
    out = []
    for block in blocks("bash", (README, *GUIDES, *TUTORIALS)):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            for part in (p.strip() for p in line.split("&&")):
                if part and not part.startswith(SKIP):
                    out.append(part)
    return out


def small(command: str) -> list[str]:
    """The command with its statistics capped (the documented default of this test)."""
    args = shlex.split(command)
    if FULL:
        return args
    for k, a in enumerate(args[:-1]):
        if a in ("--events", "--background-events", "--xsec-events", "--figure-events"):
            args[k + 1] = str(min(int(float(args[k + 1])), CAP))
    verb = args[1] if len(args) > 1 else ""
    stats = {"table": ("--events", "--background-events"), "reach": ("--events", "--background-events"),
             "scan": ("--events", "--background-events"), "reproduce": ("--events", "--background-events"),
             "analyze": ("--background-events",)}.get(verb, ())
    args += [x for f in stats if f not in args for x in (f, str(CAP))]
    if verb in ("table", "reproduce") and "--mA-list" not in args:
        args += ["--mA-list", "3,6"]
    if verb == "reproduce":
        args += ["--xsec-events", str(CAP), "--figure-events", str(CAP), "--quiet"]
    if verb == "pseudodata":
        args += [x for f, v in (("--template-events", "3000"), ("--mc-events", "20000")) if f not in args for x in (f, v)]
    if verb == "figure" and "--xsec-events" not in args:
        args += ["--xsec-events", str(CAP)]
    return args


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


def test_readme_has_the_blocks():
    assert len(blocks("python", [README])) >= 2 and len(shell_commands()) >= 15
    assert len(README.read_text().splitlines()) <= 200, "the README is a front page: details go to docs/"
    assert len(TUTORIALS) >= 4
    # the Python examples need nothing but `import mcdh`
    for block in blocks("python"):
        imports = re.findall(r"^\s*(?:from|import) (\S+)", block, flags=re.M)
        assert set(imports) <= {"numpy", "mcdh"}, imports


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_block_runs(index, workdir):
    code = blocks("python")[index]
    path = workdir / f"block{index}.py"
    path.write_text(code)
    r = subprocess.run([sys.executable, str(path)], cwd=workdir, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow
def test_shell_blocks_run_in_order(workdir):
    exe = mcdh_command()[0]
    for command in shell_commands():
        args = small(command)
        assert args[0] == "mcdh", command
        r = subprocess.run([exe, *args[1:]], cwd=workdir, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{command}\n{r.stderr[-3000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(page, tmp_path):
    code = "".join(re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S))
    assert code, f"{page.name} has no Python"
    (tmp_path / "tutorial.py").write_text(code)
    r = subprocess.run([sys.executable, "tutorial.py"], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow
def test_every_page_is_in_the_site_and_the_site_builds_without_warnings(tmp_path):
    """mkdocs in strict mode: a broken link, a page outside the navigation or a docstring mkdocstrings cannot
    render fails the build."""
    mkdocs = pytest.importorskip("mkdocs")
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def pages(nav):
        for item in nav:
            for v in item.values():
                yield from (pages(v) if isinstance(v, list) else [v])

    listed = set(pages(config["nav"]))
    on_disk = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert listed == on_disk
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(tmp_path)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "WARNING" not in r.stderr, r.stderr[-3000:]
    assert (tmp_path / "api" / "index.html").stat().st_size > 100_000 and mkdocs
