"""`make lint`: a small linter from the standard library alone.

pip cannot install flake8 or ruff everywhere this service builds (the
platform builds offline), so this checks what matters most and needs no
package: every file compiles with warnings as errors, no unused import,
no bare `except:`, no mutable default argument, no print() in app/ (logs
are JSON lines on stdout; a print would break them), lines of at most
MAX_LINE characters, no tabs, no trailing blanks, a final newline.
Replace it with ruff when the build can install packages.

Usage: python3 tools/lint.py DIR_OR_FILE...; exit status 1 on a problem.
Never changes a file.
"""
import ast
import sys
import warnings
from pathlib import Path
from typing import Iterator, List, Tuple

MAX_LINE = 100


def _files(args: List[str]) -> Iterator[Path]:
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
        else:
            yield path


def _unused_imports(tree: ast.Module) -> Iterator[Tuple[ast.AST, str]]:
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                imported[name] = node
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            # names in string annotations: "queue.Queue[Job]"
            used.update(part for part in node.value.replace("[", ".").split(".") if part)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == "__all__":
                    used.update(e.value for e in ast.walk(node.value)
                                if isinstance(e, ast.Constant) and isinstance(e.value, str))
    for name, node in imported.items():
        if name not in used:
            yield node, f"{name!r} imported but unused"


def check(path: Path) -> List[str]:
    problems = []
    text = path.read_text(encoding="utf-8")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            tree = ast.parse(text, filename=str(path))
            compile(tree, str(path), "exec")
    except (SyntaxError, SyntaxWarning) as exc:
        return [f"{path}:{getattr(exc, 'lineno', 0) or 0}: {exc}"]
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            problems.append(f"{path}:{number}: line longer than {MAX_LINE} characters")
        if "\t" in line:
            problems.append(f"{path}:{number}: tab: indent with spaces")
        if line != line.rstrip():
            problems.append(f"{path}:{number}: trailing blanks")
    if text and not text.endswith("\n"):
        problems.append(f"{path}: no newline at the end of the file")
    for node, message in _unused_imports(tree):
        problems.append(f"{path}:{node.lineno}: {message}")
    in_app = "app" in path.parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            problems.append(f"{path}:{node.lineno}: bare except: name the exception")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for default in node.args.defaults + node.args.kw_defaults:
                if isinstance(default, (ast.List, ast.Dict, ast.Set)):
                    problems.append(f"{path}:{default.lineno}: mutable default argument")
        elif (in_app and isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "print" and not any(
                  k.arg == "file" for k in node.keywords)):
            problems.append(f"{path}:{node.lineno}: print() in app/: log instead")
    return problems


def main(args: List[str]) -> int:
    if not args:
        print("usage: lint.py DIR_OR_FILE...", file=sys.stderr)
        return 2
    problems = []
    count = 0
    for path in _files(args):
        count += 1
        problems.extend(check(path))
    for problem in problems:
        print(problem)
    print(f"lint: {count} files, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
