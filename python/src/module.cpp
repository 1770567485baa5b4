// The extension module `xbarkit._xbarkit`; the package `xbarkit` (python/xbarkit/__init__.py)
// re-exports it. Each binding file registers one part of the library.
#include <pybind11/pybind11.h>

#include "common.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::python {

namespace {
// Exception classes live as long as the interpreter (module globals hold them too).
PyObject* g_error = nullptr;
PyObject* g_input_error = nullptr;
PyObject* g_solver_error = nullptr;
PyObject* g_spice_error = nullptr;
PyObject* g_interrupted = nullptr;

PyObject* new_exception(py::module_& m, const char* name, py::tuple bases, const char* doc) {
  const std::string qualified = std::string("xbarkit.") + name;
  PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
  if (!cls) throw py::error_already_set();
  m.add_object(name, py::handle(cls));  // the module keeps a reference; we keep ours
  return cls;
}
}  // namespace

// xbarkit's C++ errors become Python exceptions with the same message (what()):
//   Error -> xbarkit.Error (a RuntimeError), InputError -> xbarkit.InputError (also a ValueError),
//   SolverError -> xbarkit.SolverError, spice::SpiceError -> xbarkit.SpiceError (a SolverError),
//   characterize::Interrupted -> xbarkit.Interrupted.
void bind_errors(py::module_& m) {
  const auto runtime = py::handle(PyExc_RuntimeError);
  const auto value = py::handle(PyExc_ValueError);
  g_error = new_exception(m, "Error", py::make_tuple(runtime), "Base of every error xbarkit reports (a RuntimeError).");
  g_input_error = new_exception(m, "InputError", py::make_tuple(py::handle(g_error), value),
                                "Bad user input: a recipe, model file, bundle, weights or dataset (also a ValueError).");
  g_solver_error = new_exception(m, "SolverError", py::make_tuple(py::handle(g_error)),
                                 "A numerical engine failed (Newton did not converge, singular network, ngspice).");
  g_spice_error = new_exception(m, "SpiceError", py::make_tuple(py::handle(g_solver_error)),
                                "ngspice reported an error; the message carries ngspice's own lines.");
  g_interrupted = new_exception(m, "Interrupted", py::make_tuple(py::handle(g_error)),
                                "SIGINT/SIGTERM stopped a characterization after journaling the points in flight "
                                "(rerun with resume=True).");
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const characterize::Interrupted& e) {
      PyErr_SetString(g_interrupted, e.what());
    } catch (const spice::SpiceError& e) {
      PyErr_SetString(g_spice_error, e.what());
    } catch (const SolverError& e) {
      PyErr_SetString(g_solver_error, e.what());
    } catch (const InputError& e) {
      PyErr_SetString(g_input_error, e.what());
    } catch (const Error& e) {
      PyErr_SetString(g_error, e.what());
    }
  });
}

}  // namespace xbarkit::python

PYBIND11_MODULE(_xbarkit, m) {
  using namespace xbarkit::python;
  m.doc() = "xbarkit's C++ core: crossbars and their solvers, LUT bundles, MTJ switching, binary networks.";
  m.attr("__version__") = XBARKIT_VERSION;
  bind_errors(m);
  bind_crossbar(m);
  bind_lut(m);
  bind_mtj(m);
  bind_nn(m);
  bind_imc(m);
}
