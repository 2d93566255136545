import subprocess
import sys

CODE = """
import sys
from xsweep.combos import parse_combos
from xsweep.engine import OutputBuffer, compute_block
grid = parse_combos({"x": range(10)})
block = compute_block(lambda x: x * 2.0, grid, 0, 10, on_error="record")
buffer = OutputBuffer(grid, var_names="y")
buffer.put_block(0, block)
assert buffer.result.tolist() == [2.0 * x for x in range(10)]
heavy = {"xarray", "pandas", "tqdm", "matplotlib", "joblib", "loky", "dask"}
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""


def test_the_grow_path_imports_no_heavy_modules():
    out = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
