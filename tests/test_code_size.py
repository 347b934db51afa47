"""Size limits that keep a component readable in one sitting: a class body at most 220
lines, a method of ``sscl/models/algorithms/`` at most 40, both counted without blank lines,
docstrings and signatures (decorators included)."""
import ast
import os.path as osp
from glob import glob

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
MAX_CLASS_LINES = 220
MAX_ALGORITHM_METHOD_LINES = 40
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _docstring_lines(node) -> set:
    body = getattr(node, 'body', None)
    if (isinstance(node, (*FUNCTIONS, ast.ClassDef, ast.Module)) and body
            and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return set(range(body[0].lineno, body[0].end_lineno + 1))
    return set()


def _signature_lines(node) -> set:
    """Decorators and the ``def`` up to the line before its first statement."""
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return set(range(start, node.body[0].lineno))


def counted_lines(node, lines) -> int:
    """Non-blank lines of ``node``'s body without docstrings and function signatures."""
    excluded = set()
    for sub in ast.walk(node):
        excluded |= _docstring_lines(sub)
        if isinstance(sub, FUNCTIONS):
            excluded |= _signature_lines(sub)
    first = node.body[0].lineno
    return sum(1 for n in range(first, node.end_lineno + 1)
               if n not in excluded and lines[n - 1].strip())


def parsed_sources(pattern):
    for path in sorted(glob(osp.join(ROOT, pattern), recursive=True)):
        with open(path) as f:
            text = f.read()
        yield osp.relpath(path, ROOT), ast.parse(text), text.splitlines()


def oversized(pattern, kinds, limit):
    return [
        f'{path}:{node.lineno} {node.name}: {size} lines'
        for path, tree, lines in parsed_sources(pattern) for node in ast.walk(tree)
        if isinstance(node, kinds) and (size := counted_lines(node, lines)) > limit
    ]


def test_class_bodies_fit_the_limit():
    assert not oversized('sscl/**/*.py', ast.ClassDef, MAX_CLASS_LINES)


def test_algorithm_methods_fit_the_limit():
    assert not oversized('sscl/models/algorithms/**/*.py', FUNCTIONS, MAX_ALGORITHM_METHOD_LINES)


def test_the_count_leaves_out_docstrings_signatures_and_blank_lines():
    source = '''
class A:
    """Doc
    string."""

    @staticmethod
    def f(a,
          b):
        """Doc."""
        x = 1

        return x
'''
    tree = ast.parse(source)
    cls = tree.body[0]
    assert counted_lines(cls, source.splitlines()) == 2
    assert counted_lines(cls.body[1], source.splitlines()) == 2
