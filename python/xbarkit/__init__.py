"""xbarkit: compute-in-memory crossbar characterization from Python.

The C++ core (extension module ``xbarkit._xbarkit``) with NumPy arrays in and out:

- ``Crossbar``, ``load_recipe``, ``solve`` (native or ngspice), ``cell_current``, ``cells``
- ``characterize`` (a recipe into a LUT bundle), ``load_bundle``, ``Bundle``, ``Table``, ``ArrayLut``
- ``mtj_device``, ``mtj_psw`` (SOT-MTJ switching Monte Carlo)
- ``load_network``, ``Network`` (``eval``, ``predict``), ``infer``, ``load_fashion_mnist``
- ``CrossbarLayer``: one binary matrix product on simulated crossbars (used by ``xbarkit.torch``)

The extension is imported on first use of one of these names (PEP 562), so ``xbarkit.plot``'s figures
of JSON documents (accuracy, energy, the main job's) work in a build that has only the command-line
tool (``scripts/run.sh`` builds no more than the main job needs); without the extension, one of these
names raises an AttributeError and ``xbarkit.torch`` an ImportError, both saying how to build it.

Errors are ``xbarkit.Error`` (``InputError``, also a ValueError; ``SolverError``; ``SpiceError``;
``Interrupted``) with the messages of the command-line tool. Figures: ``xbarkit.plot`` (matplotlib).
"""

__all__ = [
    "ArrayLut", "Bundle", "Crossbar", "CrossbarLayer", "Error", "InputError", "Interrupted", "Network", "Solution",
    "SolverError", "SpiceError", "Table", "__version__", "cell_current", "cells", "characterize", "derive_seed", "infer",
    "load_bundle", "load_fashion_mnist", "load_network", "load_recipe", "mtj_device", "mtj_psw", "solve",
]


class ExtensionMissing(ImportError):
    """The C++ extension is not built (or cannot be loaded)."""


def _core():
    """The C++ extension module, or an ExtensionMissing (an ImportError) naming the build step."""
    try:
        from . import _xbarkit
    except ImportError as e:
        raise ExtensionMissing(f"xbarkit's C++ extension (xbarkit._xbarkit) is not built or cannot be loaded ({e}); "
                               "scripts/setup.sh builds it (a build directory made by scripts/run.sh has only the "
                               "command-line tool; setup.sh re-configures it with everything)") from e
    return _xbarkit


def __getattr__(name):
    if name in __all__:
        try:
            core = _core()
        except ExtensionMissing as e:
            # An AttributeError, so hasattr(xbarkit, name) and getattr(xbarkit, name, default) answer.
            raise AttributeError(f"xbarkit.{name}: {e}") from e
        globals().update({n: getattr(core, n) for n in __all__})
        return globals()[name]
    raise AttributeError(f"module 'xbarkit' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
