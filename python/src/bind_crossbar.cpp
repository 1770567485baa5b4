// Crossbars (netlist/crossbar.hpp), recipes, and the two circuit engines: the native solver
// (circuit/solver.hpp) and ngspice (spice/crossbar_op.hpp, run in a worker process so that an
// ngspice crash or exit request cannot take the interpreter down).
#include <cmath>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "xbarkit/circuit/iv_table.hpp"
#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/deck_writer.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/worker_pool.hpp"

namespace xbarkit::python {

namespace {

using netlist::Crossbar;

// The solution of one operating point, as NumPy arrays (maps are rows x cols, row-major).
struct Solution {
  std::string engine;
  int rows = 0, cols = 0;
  py::object column_current_A, ideal_column_current_A = py::none(), conducting_cells;
  py::object bitline_V = py::none(), sourceline_V = py::none(), wordline_V = py::none(), internal_V = py::none();
  int newton_iterations = 0;
  std::string op_method;
  double elapsed_s = 0;
};

std::vector<int32_t> conducting_counts(const Crossbar& x) {
  std::vector<int32_t> k(static_cast<size_t>(x.cols));
  for (int j = 0; j < x.cols; ++j) k[static_cast<size_t>(j)] = x.conducting_count(j);
  return k;
}

py::object map_or_none(std::vector<double>&& v, int rows, int cols) {
  if (v.empty()) return py::none();
  return to_numpy(std::move(v), {rows, cols});
}

void check_resistance(double r, const char* name) {
  if (!std::isfinite(r) || r < 0) throw py::value_error(fmt::format("{}: expected a finite resistance >= 0 ohm, got {}", name, r));
}
void check_voltage(double v, const char* name, bool positive) {
  if (!std::isfinite(v) || (positive ? v <= 0 : v < 0))
    throw py::value_error(fmt::format("{}: expected a finite voltage {} 0 V, got {}", name, positive ? ">" : ">=", v));
}

void set_inputs(Crossbar& x, py::handle v) {
  x.inputs = bits_arg(v, "inputs", {{x.rows}}, "(rows,)");
}
void set_weights(Crossbar& x, py::handle v) {
  x.weights = bits_arg(v, "weights", {{x.rows, x.cols}}, "(rows, cols)");
}
void set_state(Crossbar& x, py::handle v) {
  if (v.is_none()) {
    x.state.clear();
    return;
  }
  if (!x.kind().analog_state())
    throw py::value_error(fmt::format("state: cell kind '{}' stores bits, not analog states (kinds with states: see "
                                      "xbarkit.cells())",
                                      x.cell_name()));
  x.state = real_arg(v, "state", {{x.rows, x.cols}}, "(rows, cols)");
}

// Cell parameters by name: numbers and choices must be ones the kind already has (from its tech
// table), so a typo is an error naming the known keys.
void set_params(Crossbar& x, const py::dict& params) {
  for (const auto& [k, v] : params) {
    const auto key = py::cast<std::string>(py::str(k));
    std::string known;
    for (const auto& [n, _] : x.params.numbers) known += (known.empty() ? "" : ", ") + n;
    for (const auto& [n, _] : x.params.choices) known += (known.empty() ? "" : ", ") + n;
    if (py::isinstance<py::str>(v)) {
      auto it = x.params.choices.find(key);
      if (it == x.params.choices.end())
        throw py::value_error(fmt::format("params: '{}' is not a choice of cell kind '{}' (its parameters: {})", key,
                                          x.cell_name(), known));
      it->second = py::cast<std::string>(v);
    } else if (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)) {
      auto it = x.params.numbers.find(key);
      if (it == x.params.numbers.end())
        throw py::value_error(fmt::format("params: '{}' is not a number of cell kind '{}' (its parameters: {})", key,
                                          x.cell_name(), known));
      it->second = py::cast<double>(v);
    } else {
      throw py::type_error(fmt::format("params: '{}' must be a number or a string, got {}", key,
                                       std::string(py::str(py::type::of(v)))));
    }
  }
}

Crossbar make(const std::string& cell, py::handle inputs, py::handle weights, const std::string& tech,
              py::handle state, std::optional<double> r_bitline_ohm, std::optional<double> r_sourceline_ohm,
              std::optional<double> r_wordline_ohm, std::optional<double> v_read_V, std::optional<double> vdd_V,
              double wire_scale, const py::dict& params) {
  Checked w;
  auto weight_bits = bits_arg(weights, "weights", {{kAny, kAny}}, "(rows, cols)", &w);
  const auto rows = w.shape[0], cols = w.shape[1];
  if (rows < 1 || cols < 1) throw py::value_error(fmt::format("weights: expected at least one row and one column, got shape ({}, {})", rows, cols));
  if (rows > 1 << 16 || cols > 1 << 16) throw py::value_error(fmt::format("weights: at most 65536 rows and columns, got ({}, {})", rows, cols));
  auto input_bits = bits_arg(inputs, "inputs", {{rows}}, fmt::format("(rows,) = ({},) to match weights", rows));
  const auto technology = netlist::load_technology(tech);
  Crossbar x = netlist::make_crossbar(technology, cell, static_cast<int>(rows), static_cast<int>(cols));
  x.inputs = std::move(input_bits);
  x.weights = std::move(weight_bits);
  if (r_bitline_ohm) check_resistance(*r_bitline_ohm, "r_bitline_ohm"), x.parasitics.r_bitline_ohm = *r_bitline_ohm;
  if (r_sourceline_ohm) check_resistance(*r_sourceline_ohm, "r_sourceline_ohm"), x.parasitics.r_sourceline_ohm = *r_sourceline_ohm;
  if (r_wordline_ohm) check_resistance(*r_wordline_ohm, "r_wordline_ohm"), x.parasitics.r_wordline_ohm = *r_wordline_ohm;
  if (v_read_V) check_voltage(*v_read_V, "v_read_V", false), x.v_read_V = *v_read_V;
  if (vdd_V) check_voltage(*vdd_V, "vdd_V", true), x.vdd_V = *vdd_V;
  if (!std::isfinite(wire_scale) || wire_scale < 0)
    throw py::value_error(fmt::format("wire_scale: expected a finite number >= 0, got {}", wire_scale));
  netlist::scale_wires(x, wire_scale);
  set_params(x, params);
  set_state(x, state);
  x.validate("crossbar");
  return x;
}

Solution solve(const Crossbar& x, const std::string& engine, bool node_voltages, bool ideal, long long threads,
               const std::optional<std::string>& cell_table, double reltol, int max_newton_iterations) {
  if (engine != "native" && engine != "ngspice")
    throw py::value_error(fmt::format("engine: expected 'native' or 'ngspice', got '{}'", engine));
  if (engine == "ngspice" && node_voltages)
    throw py::value_error("node_voltages: node maps come from the native solver: use engine='native'");
  if (engine == "ngspice" && cell_table)
    throw py::value_error("cell_table: the I-V table feeds the native solver: use engine='native'");
  if (!(reltol > 0) || !(reltol < 1)) throw py::value_error(fmt::format("reltol: expected 0 < reltol < 1, got {}", reltol));
  if (max_newton_iterations < 1)
    throw py::value_error(fmt::format("max_newton_iterations: expected >= 1, got {}", max_newton_iterations));
  x.validate("crossbar");
  Solution s;
  s.engine = engine;
  s.rows = x.rows;
  s.cols = x.cols;
  std::vector<double> current, ideal_current;
  circuit::CrossbarSolution native;
  {
    circuit::SolveOptions opt;
    opt.threads = static_cast<unsigned>(non_negative(threads, "threads"));
    opt.reltol = reltol;
    opt.max_newton_iterations = max_newton_iterations;
    opt.node_voltages = node_voltages;
    py::gil_scoped_release release;
    if (cell_table)
      opt.transistor_table = std::make_shared<const circuit::TransistorTable>(circuit::TransistorTable::load(*cell_table));
    if (engine == "native") {
      native = circuit::solve_crossbar(x, opt);
      current = native.column_current_A;
      s.newton_iterations = native.newton_iterations;
      s.elapsed_s = native.elapsed_s;
      if (ideal) {
        opt.node_voltages = false;
        ideal_current = circuit::solve_crossbar(x.ideal(), opt).column_current_A;
      }
    } else {
      std::vector<spice::SpiceJob> jobs{spice::crossbar_job(x)};
      const Crossbar x0 = x.ideal();
      if (ideal) jobs.push_back(spice::crossbar_job(x0));
      spice::WorkerPool pool(static_cast<unsigned>(jobs.size()));
      const auto results = pool.run(jobs);
      const auto op = spice::decode_crossbar_result(x, results[0]);
      current = op.column_current_A;
      s.elapsed_s = op.elapsed_s;
      s.op_method = op.op_method;
      if (ideal) ideal_current = spice::decode_crossbar_result(x0, results[1]).column_current_A;
    }
  }
  s.column_current_A = to_numpy(std::move(current));
  if (ideal) s.ideal_column_current_A = to_numpy(std::move(ideal_current));
  s.conducting_cells = to_numpy(conducting_counts(x));
  if (engine == "native" && node_voltages) {
    s.bitline_V = map_or_none(std::move(native.bitline_V), x.rows, x.cols);
    s.sourceline_V = map_or_none(std::move(native.sourceline_V), x.rows, x.cols);
    s.wordline_V = map_or_none(std::move(native.wordline_V), x.rows, x.cols);
    s.internal_V = map_or_none(std::move(native.internal_V), x.rows, x.cols);
  }
  return s;
}

py::dict params_dict(const Crossbar& x) {
  py::dict d;
  for (const auto& [k, v] : x.params.numbers) d[py::str(k)] = v;
  for (const auto& [k, v] : x.params.choices) d[py::str(k)] = v;
  return d;
}

}  // namespace

void bind_crossbar(py::module_& m) {
  m.def(
      "cells",
      [] {
        py::dict d;
        for (const auto* c : netlist::cells()) d[py::str(std::string(c->name()))] = std::string(c->summary());
        return d;
      },
      "The registered cell kinds: {name: one-line summary}.");

  py::class_<Crossbar>(m, "Crossbar", R"doc(
One crossbar circuit: cell kind, devices and parasitics from a technology, and its stimulus.

Build one from arrays, Crossbar(cell, inputs, weights, tech="7nm", ...), or load a recipe with
xbarkit.load_recipe(path). inputs: (rows,) 0/1 row inputs; weights: (rows, cols) 0/1 stored bits.
Cell (i, j) conducts when inputs[i] and weights[i, j] are 1. Omitted parasitics and voltages take the
technology's defaults for the cell kind; wire_scale multiplies every wire resistance.
)doc")
      .def(py::init(&make), py::arg("cell"), py::arg("inputs"), py::arg("weights"), py::kw_only(),
           py::arg("tech") = "7nm", py::arg("state") = py::none(), py::arg("r_bitline_ohm") = py::none(),
           py::arg("r_sourceline_ohm") = py::none(), py::arg("r_wordline_ohm") = py::none(),
           py::arg("v_read_V") = py::none(), py::arg("vdd_V") = py::none(), py::arg("wire_scale") = 1.0,
           py::arg("params") = py::dict())
      .def_readonly("rows", &Crossbar::rows)
      .def_readonly("cols", &Crossbar::cols)
      .def_property_readonly("cell", [](const Crossbar& x) { return std::string(x.cell_name()); })
      .def_property(
          "inputs", [](const Crossbar& x) { return to_numpy(std::vector<uint8_t>(x.inputs)); }, &set_inputs,
          "Row inputs, (rows,) uint8 0/1 (a copy; assign a new array to change them).")
      .def_property(
          "weights",
          [](const Crossbar& x) { return to_numpy(std::vector<uint8_t>(x.weights), {x.rows, x.cols}); }, &set_weights,
          "Stored bits, (rows, cols) uint8 0/1 (a copy; assign a new array to change them).")
      .def_property(
          "state",
          [](const Crossbar& x) -> py::object {
            if (x.state.empty()) return py::none();
            return to_numpy(std::vector<double>(x.state), {x.rows, x.cols});
          },
          &set_state, "Per-cell analog state (rows, cols) for kinds with analog states, else None.")
      .def_property(
          "r_bitline_ohm", [](const Crossbar& x) { return x.parasitics.r_bitline_ohm; },
          [](Crossbar& x, double r) { check_resistance(r, "r_bitline_ohm"), x.parasitics.r_bitline_ohm = r; })
      .def_property(
          "r_sourceline_ohm", [](const Crossbar& x) { return x.parasitics.r_sourceline_ohm; },
          [](Crossbar& x, double r) { check_resistance(r, "r_sourceline_ohm"), x.parasitics.r_sourceline_ohm = r; })
      .def_property(
          "r_wordline_ohm", [](const Crossbar& x) { return x.parasitics.r_wordline_ohm; },
          [](Crossbar& x, double r) { check_resistance(r, "r_wordline_ohm"), x.parasitics.r_wordline_ohm = r; })
      .def_property(
          "v_read_V", [](const Crossbar& x) { return x.v_read_V; },
          [](Crossbar& x, double v) { check_voltage(v, "v_read_V", false), x.v_read_V = v; })
      .def_property(
          "vdd_V", [](const Crossbar& x) { return x.vdd_V; },
          [](Crossbar& x, double v) { check_voltage(v, "vdd_V", true), x.vdd_V = v; })
      .def_property_readonly("params", &params_dict, "The cell kind's own parameters (numbers SI, choices strings).")
      .def_property_readonly(
          "topology",
          [](const Crossbar& x) {
            return std::string(x.kind().topology() == netlist::Topology::column_ladder ? "column_ladder" : "grid");
          },
          "column_ladder (columns decouple: sram8t, rram1t1r) or grid (rows carry current: passive).")
      .def(
          "ladder_rails",
          [](const Crossbar& x) -> py::object {
            if (x.kind().topology() != netlist::Topology::column_ladder) return py::none();
            const auto r = x.kind().ladder_rails(x);
            return py::dict(py::arg("bitline_terminal") = std::string(r.bitline_terminal_top ? "top" : "bottom"),
                            py::arg("bitline_V") = r.v_bitline_V, py::arg("sourceline_V") = r.v_sourceline_V);
          },
          "Where a ladder kind holds its rails: {bitline_terminal: 'top'|'bottom', bitline_V, sourceline_V} (the "
          "source line at the bottom); None for grid kinds.")
      .def("conducting_cells", [](const Crossbar& x) { return to_numpy(conducting_counts(x)); },
           "Conducting cells per column (the ideal partial sums), (cols,) int32.")
      .def("ideal", &Crossbar::ideal, "The same array with every wire resistance zero.")
      .def(
          "scaled",
          [](const Crossbar& x, double wire_scale) {
            Crossbar y = x;
            netlist::scale_wires(y, wire_scale);
            return y;
          },
          py::arg("wire_scale"), "A copy with every wire resistance multiplied by wire_scale (>= 0).")
      .def(
          "netlist",
          [](const Crossbar& x, const std::string& title) {
            x.validate("crossbar");
            netlist::DeckOptions o;
            o.title = title;
            return netlist::write_deck(x, o);
          },
          py::arg("title") = netlist::DeckOptions{}.title,
          "The standalone ngspice deck of this array (what `xbarkit netlist` writes; it titles the deck with the "
          "recipe's file name).")
      .def("copy", [](const Crossbar& x) { return Crossbar(x); })
      .def("__copy__", [](const Crossbar& x) { return Crossbar(x); })
      .def("__deepcopy__", [](const Crossbar& x, py::handle) { return Crossbar(x); }, py::arg("memo"))
      .def("__repr__", [](const Crossbar& x) {
        return fmt::format("<xbarkit.Crossbar {} {}x{}, wires {}/{}/{} ohm, v_read {} V>", x.cell_name(), x.rows,
                           x.cols, x.parasitics.r_bitline_ohm, x.parasitics.r_sourceline_ohm,
                           x.parasitics.r_wordline_ohm, x.v_read_V);
      });

  m.def(
      "load_recipe",
      [](const std::string& path) {
        auto r = netlist::load_crossbar_recipe(path);
        return std::move(r.crossbar);
      },
      py::arg("path"), "A crossbar recipe (TOML, as for `xbarkit solve`) as a Crossbar, stimulus included.");

  py::class_<Solution>(m, "Solution", R"doc(
An operating point: column currents (A, positive when the column conducts, as ngspice's i(VSENSE<j>)),
the ideal (zero-wire) array's currents when requested, conducting cells per column, and for the
native engine with node_voltages=True the IR-drop map: node voltages (rows, cols) of the bitline,
source line, wordline and cell-internal nodes (None where a kind has no such node).
)doc")
      .def_readonly("engine", &Solution::engine)
      .def_readonly("rows", &Solution::rows)
      .def_readonly("cols", &Solution::cols)
      .def_readonly("column_current_A", &Solution::column_current_A)
      .def_readonly("ideal_column_current_A", &Solution::ideal_column_current_A)
      .def_readonly("conducting_cells", &Solution::conducting_cells)
      .def_readonly("bitline_V", &Solution::bitline_V)
      .def_readonly("sourceline_V", &Solution::sourceline_V)
      .def_readonly("wordline_V", &Solution::wordline_V)
      .def_readonly("internal_V", &Solution::internal_V)
      .def_readonly("newton_iterations", &Solution::newton_iterations)
      .def_readonly("op_method", &Solution::op_method)
      .def_readonly("elapsed_s", &Solution::elapsed_s)
      .def("__repr__", [](const Solution& s) {
        return fmt::format("<xbarkit.Solution {} {}x{}, {:.4g} s>", s.engine, s.rows, s.cols, s.elapsed_s);
      });

  m.def("solve", &solve, py::arg("crossbar"), py::kw_only(), py::arg("engine") = "native",
        py::arg("node_voltages") = false, py::arg("ideal") = true, py::arg("threads") = 1,
        py::arg("cell_table") = py::none(), py::arg("reltol") = 1e-10, py::arg("max_newton_iterations") = 100,
        R"doc(
Operating point of a crossbar with engine "native" (the nodal/ladder solver) or "ngspice" (the golden
reference, run in a worker process). node_voltages=True (native) fills the IR-drop map; ideal=True also
solves the zero-wire array; threads: columns in parallel (native, 0 = all cores); cell_table: a
transistor I-V table from `xbarkit characterize-cell` for the native engine. The GIL is released.
)doc");

  m.def(
      "cell_current",
      [](const Crossbar& x, bool input, bool weight) {
        x.validate("crossbar");
        return circuit::isolated_cell_current(x, input, weight);
      },
      py::arg("crossbar"), py::arg("input") = true, py::arg("weight") = true,
      "Current (A) of one isolated cell of the crossbar's kind at the ideal rail voltages.");
}

}  // namespace xbarkit::python
