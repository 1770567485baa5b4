"""xbarkit: compute-in-memory crossbar characterization from Python.

The C++ core (extension module ``xbarkit._xbarkit``) with NumPy arrays in and out:

- ``Crossbar``, ``load_recipe``, ``solve`` (native or ngspice), ``cell_current``, ``cells``
- ``characterize`` (a recipe into a LUT bundle), ``load_bundle``, ``Bundle``, ``Table``, ``ArrayLut``
- ``mtj_device``, ``mtj_psw`` (SOT-MTJ switching Monte Carlo)
- ``load_network``, ``Network`` (``eval``, ``predict``), ``infer``, ``load_fashion_mnist``
- ``CrossbarLayer``: one binary matrix product on simulated crossbars (used by ``xbarkit.torch``)

Errors are ``xbarkit.Error`` (``InputError``, also a ValueError; ``SolverError``; ``SpiceError``;
``Interrupted``) with the messages of the command-line tool. Figures: ``xbarkit.plot`` (matplotlib).
"""
from ._xbarkit import (  # noqa: F401
    ArrayLut,
    Bundle,
    Crossbar,
    CrossbarLayer,
    Error,
    InputError,
    Interrupted,
    Network,
    Solution,
    SolverError,
    SpiceError,
    Table,
    __version__,
    cell_current,
    cells,
    characterize,
    derive_seed,
    infer,
    load_bundle,
    load_fashion_mnist,
    load_network,
    load_recipe,
    mtj_device,
    mtj_psw,
    solve,
)

__all__ = [
    "ArrayLut", "Bundle", "Crossbar", "CrossbarLayer", "Error", "InputError", "Interrupted", "Network", "Solution",
    "SolverError", "SpiceError", "Table", "__version__", "cell_current", "cells", "characterize", "derive_seed", "infer",
    "load_bundle", "load_fashion_mnist", "load_network", "load_recipe", "mtj_device", "mtj_psw", "solve",
]
