"""xbarkit: compute-in-memory crossbar characterization from Python.

The C++ core (extension module ``xbarkit._xbarkit``) with NumPy arrays in and out:

- ``Crossbar``, ``load_recipe``, ``solve`` (native or ngspice), ``cell_current``, ``cells``
- ``characterize`` (a recipe into a LUT bundle), ``load_bundle``, ``Bundle``, ``Table``, ``ArrayLut``
- ``mtj_device``, ``mtj_psw`` (SOT-MTJ switching Monte Carlo)
- ``load_network``, ``Network`` (``eval``, ``predict``), ``infer``, ``load_fashion_mnist``
- ``CrossbarLayer``: one binary matrix product on simulated crossbars (used by ``xbarkit.torch``)

The extension is imported on first use of one of these names (PEP 562), so ``xbarkit.plot``'s figures
of JSON documents (accuracy, energy, the main job's) work in a build that has only the command-line
tool (``scripts/run.sh`` builds no more than the main job needs); using a name without the extension
raises an ImportError that says how to build it.

Errors are ``xbarkit.Error`` (``InputError``, also a ValueError; ``SolverError``; ``SpiceError``;
``Interrupted``) with the messages of the command-line tool. Figures: ``xbarkit.plot`` (matplotlib).
"""

__all__ = [
    "ArrayLut", "Bundle", "Crossbar", "CrossbarLayer", "Error", "InputError", "Interrupted", "Network", "Solution",
    "SolverError", "SpiceError", "Table", "__version__", "cell_current", "cells", "characterize", "derive_seed", "infer",
    "load_bundle", "load_fashion_mnist", "load_network", "load_recipe", "mtj_device", "mtj_psw", "solve",
]


def _core():
    """The C++ extension module, or an ImportError naming the build step that makes it."""
    try:
        from . import _xbarkit
    except ImportError as e:
        raise ImportError(f"xbarkit's C++ extension (xbarkit._xbarkit) is not built or cannot be loaded ({e}); "
                          "build it with `cmake --build build --target _xbarkit` or scripts/setup.sh") from e
    return _xbarkit


def __getattr__(name):
    if name in __all__:
        core = _core()
        globals().update({n: getattr(core, n) for n in __all__})
        return globals()[name]
    raise AttributeError(f"module 'xbarkit' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
