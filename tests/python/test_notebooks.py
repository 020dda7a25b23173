"""Every notebook in notebooks/ is executed, so what they show stays true (DESIGN.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, cross_cc, qemu, vmkit_module):
    import nbclient  # installed by scripts/setup.sh, with nbformat and ipykernel
    import nbformat

    nb = nbformat.read(path, as_version=4)
    # A failing cell raises CellExecutionError with the cell's traceback.
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}).execute()
