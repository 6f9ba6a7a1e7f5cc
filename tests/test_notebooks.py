"""The analysts' notebooks run from top to bottom on a small store.

The paired ``.py`` files (jupytext percent format) are the source; each is converted with
jupytext and executed with nbclient on a store of two districts made by the product's own
build, in a kernel of this interpreter (ipykernel's own ``python3`` spec), with Jupyter's
and Matplotlib's state directories in a temporary folder so nothing is written to the
user's home.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.py"))


@pytest.fixture(scope="module")
def notebook_env(tmp_path_factory, small_store_path):
    root = tmp_path_factory.mktemp("nb")
    env = {"CITYBRAIN_STORE": str(small_store_path),  # 西湖区 and 滨江区, built once
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
           "JUPYTER_DATA_DIR": str(root / "data"), "IPYTHONDIR": str(root / "ipython"),
           "MPLCONFIGDIR": str(root / "mpl"),
           # Streamlit (imported by other tests) sets MPLBACKEND=Agg for the process; the
           # kernel inherits the environment, so name the inline backend explicitly.
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    return root, env


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= {"elderly_care_demand", "kindergarten_places"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, notebook_env, monkeypatch):
    root, env = notebook_env
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    nb = jupytext.read(path)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(root)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 3, "each notebook explains its results with charts"
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "model chosen for" in text
