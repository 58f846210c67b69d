"""estoque's public surface stands on its own: contract.py imports where neither
Django nor the app is installed (as in another service's process), and the
registry's estoque answers every method of the Protocol, with its parameters."""

import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import erp.errors
import estoque.contract
from erp import services as registry


def test_the_contract_imports_with_nothing_but_the_kernels_errors(tmp_path):
    for module in (estoque.contract, erp.errors):
        package = tmp_path / module.__name__.split(".")[0]
        package.mkdir()
        (package / "__init__.py").write_text("")
        shutil.copy(Path(module.__file__), package)
    code = (
        "import sys, estoque.contract as c\n"
        "assert c.StockService and c.InsufficientStockError\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'rest_framework', 'estoque', 'erp'}))"
    )
    # -S: no site-packages, so an import of Django (or anything installed) would fail.
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['erp', 'erp.errors', 'estoque', 'estoque.contract']"


def test_the_registry_implements_every_method_of_the_protocol():
    protocol = registry.contract_protocol("estoque")
    assert protocol is estoque.contract.StockService
    service = registry.get("estoque")
    methods = registry.protocol_methods(protocol)
    assert {"products", "availability", "receive", "adjust", "transfer", "reserve", "release", "ship"} <= set(
        methods
    )
    for name in methods:
        wanted = list(inspect.signature(getattr(protocol, name)).parameters.values())[1:]  # after self
        given = inspect.signature(getattr(service, name)).parameters.values()
        # Same keyword-only parameters and defaults: callers pass them by name.
        assert [(p.name, p.kind, p.default) for p in given] == [
            (p.name, p.kind, p.default) for p in wanted
        ], name
