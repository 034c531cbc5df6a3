"""The package's shape: one-way layers, no import cycles, names defined once, strict static checks."""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = SRC / "mcdh"

# The layer order of ARCHITECTURE.md, lowest first. A module may import from a lower layer and from
# its own group; groups on the same layer (analysis | io, scan | paper) do not import each other.
LAYERS = [
    {"base": ["mcdh._version", "mcdh.errors", "mcdh._atomic", "mcdh._memory", "mcdh._progress", "mcdh._numba_cache",
              "mcdh._jit", "mcdh._optimize", "mcdh.channels",
              "mcdh.settings", "mcdh.events", "mcdh._rambo", "mcdh._types"]},
    {"physics": ["mcdh.physics"]},
    {"seeds": ["mcdh.seeds"]},
    {"kinematics": ["mcdh.kinematics"]},
    {"generate": ["mcdh.generate"]},
    {"analysis": ["mcdh.analysis"], "io": ["mcdh.io"]},
    {"plots": ["mcdh.plots", "mcdh.bounds", "mcdh.tables"]},
    {"reconstruct": ["mcdh.reconstruct"]},
    {"study": ["mcdh.study", "mcdh.reweight"]},
    {"scan": ["mcdh.scan"], "paper": ["mcdh.paper"]},
    {"publish": ["mcdh.publish"]},
    {"cli": ["mcdh.cli"]},
    {"api": ["mcdh"]},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
MODULES["mcdh._rambo"] = PACKAGE / "_rambo.pyx"


def place(module: str) -> tuple[int, str]:
    """(layer, group) of a module: the longest prefix listed in LAYERS."""
    best = None
    for rank, groups in enumerate(LAYERS):
        for group, prefixes in groups.items():
            for prefix in prefixes:
                if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[2]):
                    best = (rank, group, len(prefix))
    assert best is not None, f"{module} is in no layer: add it to ARCHITECTURE.md and LAYERS"
    return best[0], best[1]


def imports_of(module: str, path: Path) -> set[str]:
    """Every mcdh module ``module`` imports, at the top or inside functions (lazy imports count)."""
    if path.suffix != ".py":
        return set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "mcdh")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "mcdh":
                continue
            for alias in node.names:  # `from . import limits` imports the module mcdh.analysis.limits
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    found.discard(module)
    return found


GRAPH = {m: imports_of(m, p) for m, p in MODULES.items()}


def test_every_import_points_down_the_layers():
    wrong = []
    for module, targets in GRAPH.items():
        rank, group = place(module)
        for target in targets:
            t_rank, t_group = place(target)
            if not (t_rank < rank or t_group == group):
                wrong.append(f"{module} ({group}) imports {target} ({t_group})")
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    state: dict[str, int] = {}
    cycles = []

    def visit(m, stack):
        state[m] = 1
        for t in sorted(GRAPH.get(m, ())):
            if state.get(t) == 1:
                cycles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack + [t])
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_lazy_and_relative_imports():
    assert "mcdh.analysis.limits" in GRAPH["mcdh.analysis.pipeline"]  # `from . import limits`
    assert "mcdh.study" in GRAPH["mcdh.cli.table"]  # imported inside a function
    assert place("mcdh.io.lhe") == (5, "io") and place("mcdh.analysis.limits") == (5, "analysis")


def _sources():
    return {module: path.read_text() for module, path in MODULES.items() if path.suffix == ".py"}


@pytest.mark.parametrize("needle, owner", [
    ('("phi", "gammaphi")', "mcdh.channels"),   # the channel names
    ("tqdm", "mcdh._progress"),                   # the progress-bar loop
    ("0.3 * i", "mcdh.settings"),                 # the paper's mass grid
    ("1.27e-4", "mcdh.settings"),                 # theta of the eps scan
    ("= 0.22", "mcdh.settings"),                  # the gamma-phi background ratio
])
def test_defined_once(needle, owner):
    holders = sorted(m for m, text in _sources().items() if needle in text)
    assert holders == [owner]


def test_version_is_written_once():
    import mcdh

    holders = [m for m, text in _sources().items() if '__version__ = "' in text]
    assert holders == ["mcdh._version"]
    assert "version =" not in (ROOT / "pyproject.toml").read_text().split("[project]")[1].split("[")[0]
    assert mcdh.__version__ == __import__("importlib.metadata").metadata.version("mcdh")


def test_import_inside_the_checkout_gets_the_installed_package():
    # `python -c` puts the current folder first on sys.path: in the checkout's root it must still find the
    # built package (the src layout: no source tree named mcdh there to shadow it)
    r = subprocess.run([sys.executable, "-c", "import mcdh, mcdh._rambo; print(mcdh.__file__)"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()).parent != ROOT / "mcdh"


@pytest.mark.slow
def test_the_wheel_carries_the_compiled_core_and_works_alone(tmp_path):
    """A wheel built from the checkout holds the C extension, the data and the type marker, and a Python that
    sees only the wheel's files imports it and generates with it (the smoke test of a release)."""
    import zipfile

    # a clean copy of the working tree: no build/ folder or compiled module of an earlier build can slip in
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=shutil.ignore_patterns(".git", "build", "*.so", "__pycache__", "results", "site",
                                                               ".asv", "*.egg-info"))
    dist = tmp_path / "dist"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(dist)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    (wheel,) = dist.glob("mcdh-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("mcdh/_rambo.", "mcdh/data/winkler_pi.txt", "mcdh/data/bounds/", "mcdh/py.typed", "mcdh/cli/"):
        assert any(n.startswith(needed) for n in names), needed
    assert not any(n.endswith((".pyx", ".c")) for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = ("import mcdh, sys; assert mcdh.__file__.startswith(sys.argv[1]), mcdh.__file__; "
            "p, w = mcdh.rambo(10.58, [0.0, 1.0, 2.0, 2.0], 1000, 1); "
            "m = mcdh.DarkSector.from_benchmark('B1', 6.0); "
            "s = mcdh.cross_section(m, 'phi', 2000, 1); assert p.shape == (1000, 4, 4) and s.sigma_fb > 0; print('ok')")
    r = subprocess.run([sys.executable, "-c", code, str(site)], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(site)}, timeout=600)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-3000:]


def _tool(name):
    exe = Path(sys.executable).with_name(name)
    path = str(exe) if exe.exists() else shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: `pip install '.[test]'` installs it")
    return path


def test_ruff_is_clean():
    r = subprocess.run([_tool("ruff"), "check", "src", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_requires_a_docstring_on_every_public_name(tmp_path):
    """The package's ruff rules refuse an undocumented public function, class or method (private names and the
    tests are free)."""
    src = tmp_path / "src" / "mod.py"
    src.parent.mkdir()
    src.write_text('"""A module."""\n\n\ndef public():\n    pass\n\n\ndef _private():\n    pass\n\n\n'
                   'class Thing:\n    """A thing."""\n\n    def method(self):\n        pass\n')
    r = subprocess.run([_tool("ruff"), "check", "--config", str(ROOT / "pyproject.toml"), "--output-format", "concise",
                        str(src)], cwd=tmp_path, capture_output=True, text=True)
    found = sorted(line.split(": ")[1].split()[0] for line in r.stdout.splitlines() if ": D" in line)
    assert found == ["D102", "D103"], r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    r = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------
# the public API's shape: parameters and results

MAX_PARAMETERS = 8
"""A public function outside Study and the CLI takes at most this many parameters (self not counted)."""

EXCEPTIONS = {
    # (module, qualified name): why it may break a rule below. The list only shrinks: test_exceptions_still_apply
    # fails on an entry that no longer breaks one.
    ("mcdh.events", "Events.parameters"): "the sample's JSON record (SampleInfo.as_record), a file format",
    ("mcdh.io.lhe", "read_lhe_header"): "the file's <mcdh> JSON record, a file format",
    ("mcdh.io.root", "read_columns"): "the columns and the file's JSON header record, a file format",
    # the generators' options are numpy-style keywords given one at a time (frame="lab", unweight=True): a record
    # of them would make the commonest calls clumsier for no gain in clarity
    ("mcdh.generate.signal", "generate_signal"): "11 keywords: acceptance, unweighting, frame and beams, run options",
    ("mcdh.generate.background", "generate_background"): "11 keywords: the masses, N_b, acceptance, run options",
}


def _public_functions():
    """(module, qualified name, FunctionDef) of every public function and method of a public class, outside
    the CLI and Study (the two orchestrators)."""
    for module, path in sorted(MODULES.items()):
        if path.suffix != ".py" or module.startswith("mcdh.cli") or any(
                p.startswith("_") for p in module.split(".")[1:]):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                yield module, node.name, node
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_") and node.name != "Study":
                for fn in node.body:
                    if isinstance(fn, ast.FunctionDef) and not fn.name.startswith("_"):
                        yield module, f"{node.name}.{fn.name}", fn


def n_parameters(fn: ast.FunctionDef) -> int:
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    return len(names) - (1 if names[:1] in (["self"], ["cls"]) else 0)


def _untyped_dict(ann: ast.expr | None) -> bool:
    """Whether an annotation is (or holds, in a list, tuple or union) a dict whose values are untyped: ``dict``,
    ``Mapping``, ``dict[str, Any]``. A mapping keyed by data with typed values (``dict[str, float]``,
    ``dict[float, Reach]``) is fine: it is a table, not a record in disguise."""
    if ann is None:
        return False
    if isinstance(ann, ast.Name):
        return ann.id in ("dict", "Dict", "Mapping")
    if isinstance(ann, ast.Subscript):
        name = ann.value.id if isinstance(ann.value, ast.Name) else getattr(ann.value, "attr", "")
        args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
        if name in ("dict", "Dict", "Mapping"):
            value = args[-1]
            return (isinstance(value, ast.Name) and value.id in ("Any", "object")) or _untyped_dict(value)
        return any(_untyped_dict(x) for x in args)
    if isinstance(ann, ast.BinOp):  # X | Y
        return _untyped_dict(ann.left) or _untyped_dict(ann.right)
    if isinstance(ann, ast.Constant) and isinstance(ann.value, str):
        return _untyped_dict(ast.parse(ann.value, mode="eval").body)
    return False


def returns_untyped_dict(fn: ast.FunctionDef) -> bool:
    """A return annotation of an untyped dict, or no annotation and a ``return {...}`` literal. Serialisers
    (``as_*``: the JSON form of a record) are what they say."""
    if fn.name.startswith("as_"):
        return False
    if fn.returns is not None:
        return _untyped_dict(fn.returns)
    return any(isinstance(n, ast.Return) and isinstance(n.value, (ast.Dict, ast.DictComp)) for n in ast.walk(fn))


def _breaks(fn: ast.FunctionDef) -> list[str]:
    out = []
    if n_parameters(fn) > MAX_PARAMETERS:
        out.append(f"takes {n_parameters(fn)} parameters (at most {MAX_PARAMETERS}: group them in a record)")
    if returns_untyped_dict(fn):
        out.append("returns an untyped dict (return a frozen record)")
    return out


def test_public_functions_take_few_parameters_and_return_records():
    problems = [f"{m}.{name} {'; '.join(_breaks(fn))}" for m, name, fn in _public_functions()
                if _breaks(fn) and (m, name) not in EXCEPTIONS]
    assert not problems, "\n".join(problems)


def test_exceptions_still_apply():
    found = {(m, name) for m, name, fn in _public_functions() if _breaks(fn)}
    assert not set(EXCEPTIONS) - found, f"no longer break a rule, remove them: {sorted(set(EXCEPTIONS) - found)}"


def test_the_api_rules_see_what_they_should():
    src = '''
def wide(a, b, c, d, e, f, g, h, i): ...
def narrow(self, a, b, c, d, e, f, g, h): ...
def bare() -> dict: ...
def anyvalued() -> "dict[str, Any]": ...
def nested() -> tuple[list[str], list[dict]]: ...
def table() -> dict[str, float]: ...
def records() -> dict[float, Reach]: ...
def literal(): return {"a": 1}
def as_dict() -> dict: ...
'''
    fns = {n.name: n for n in ast.parse(src).body}
    assert [k for k, f in fns.items() if n_parameters(f) > MAX_PARAMETERS] == ["wide"]
    assert [k for k, f in fns.items() if returns_untyped_dict(f)] == ["bare", "anyvalued", "nested", "literal"]


# ----------------------------------------------------------------------
# the benchmark suite's regression gate

BENCHMARKS = ROOT / "benchmarks"
DIMENSIONLESS = {"ratio", "fraction", "evaluations", "fits", "passes"}
CPU_SECONDS = {"bench_smearing.PointCpu.track_point_cpu_seconds_expected",
               "bench_smearing.PointCpu.track_point_cpu_seconds_copies"}
"""Tracked in CPU seconds, not a ratio: issue 28 sets its target (<= 0.1 CPU-s a point) in these units and names
the benchmark; CPU time (not wall) holds better under load, and the gate leaves them out."""


def _asv_benchmarks() -> dict[str, str | None]:
    """{module.Class.method (or module.function): its unit} of every asv benchmark, read from the sources."""
    found: dict[str, str | None] = {}
    for path in sorted(BENCHMARKS.glob("bench_*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            scopes = [(node.name + ".", node.body)] if isinstance(node, ast.ClassDef) else [("", [node])]
            for prefix, body in scopes:
                units = {t.value.id: a.value.value for a in body if isinstance(a, ast.Assign)
                         for t in a.targets if isinstance(t, ast.Attribute) and t.attr == "unit"
                         and isinstance(t.value, ast.Name) and isinstance(a.value, ast.Constant)}
                for fn in body:
                    if isinstance(fn, ast.FunctionDef) and fn.name.startswith(("track_", "time_", "timeraw_", "peakmem_")):
                        found[f"{path.stem}.{prefix}{fn.name}"] = units.get(fn.name)
    return found


def test_every_tracked_benchmark_is_a_same_run_ratio():
    """Absolute figures (seconds, events per second, bytes) belong in time_*/peakmem_*, which the gate leaves
    out: a track_* must be dimensionless, measured against a baseline in the same run."""
    tracked = {k: u for k, u in _asv_benchmarks().items() if k.rsplit(".", 1)[-1].startswith("track_")}
    assert len(tracked) >= 15
    assert {k: u for k, u in tracked.items() if u not in DIMENSIONLESS and k not in CPU_SECONDS} == {}
    assert {tracked[k] for k in CPU_SECONDS} == {"CPU seconds"}


def test_the_gate_lists_existing_ratios():
    listed = [line.strip() for line in (BENCHMARKS / "gate.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    known = _asv_benchmarks()
    assert listed and not [b for b in listed if b not in known], [b for b in listed if b not in known]
    assert all(b.rsplit(".", 1)[-1].startswith("track_") and "thread_scaling" not in b for b in listed)
    assert not CPU_SECONDS & set(listed)
    # asv calls a larger value a regression: a gated figure is a cost (time over a baseline's, overhead, passes),
    # never a speed-up or an efficiency, which would be gated upside down
    assert [b for b in listed if any(w in b for w in ("speedup", "efficiency", "_vs_", "faster"))] == []


def test_benchmark_modules_import_only_what_asv_installs():
    """asv imports every module of benchmarks/ to find the suite, in an environment with mcdh and its
    dependencies only: a module-level import of anything else (psutil, pytest, ...) breaks the whole gate."""
    allowed = set(sys.stdlib_module_names) | {"numpy", "mcdh", "scipy"}
    bad = {}
    for path in sorted(BENCHMARKS.glob("*.py")):
        for node in ast.parse(path.read_text()).body:  # the module level only
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            outside = [n for n in names if n.split(".")[0] not in allowed]
            if outside:
                bad[path.name] = outside
    assert bad == {}
