// LUT bundles (lut/bundle.hpp, lut/table.hpp), array_ps readers (lut/array_ps.hpp) and running a
// characterization recipe (characterize/runner.hpp).
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::python {

namespace {

using lut::ArrayPsLut;
using lut::Bundle;
using lut::Table;

lut::OutOfRange parse_range(const std::string& s) {
  if (s == "clamp") return lut::OutOfRange::clamp;
  if (s == "error") return lut::OutOfRange::error;
  throw py::value_error(fmt::format("out_of_range: expected 'clamp' or 'error', got '{}'", s));
}
lut::Interp parse_interp(const std::string& s) {
  if (s == "linear") return lut::Interp::linear;
  if (s == "monotone_cubic") return lut::Interp::monotone_cubic;
  throw py::value_error(fmt::format("interp: expected 'linear' or 'monotone_cubic', got '{}'", s));
}

// Every column of a table over its grid: shape (len(axis0), len(axis1), ...), the node order.
py::array_t<double> grid_values(const Table& t, const std::string& column) {
  const size_t c = t.column_index(column);
  std::vector<double> v(t.node_count());
  for (size_t n = 0; n < v.size(); ++n) v[n] = t.value(n, c);
  std::vector<py::ssize_t> shape;
  for (const auto& a : t.axes()) shape.push_back(static_cast<py::ssize_t>(a.points.size()));
  return to_numpy(std::move(v), shape);
}

py::array_t<double> interpolate(const Table& t, py::handle points, const std::string& column, const std::string& interp,
                                const std::string& out_of_range) {
  const auto d = static_cast<py::ssize_t>(t.dims());
  Checked c;
  const auto x = real_arg(points, "points", {{d}, {kAny, d}}, fmt::format("(dims,) or (n, dims) with dims = {}", d), &c);
  const size_t col = t.column_index(column);
  const auto mode = parse_interp(interp);
  const auto range = parse_range(out_of_range);
  const size_t n = x.size() / static_cast<size_t>(d);
  std::vector<double> out(n);
  {
    py::gil_scoped_release release;
    for (size_t i = 0; i < n; ++i)
      out[i] = t.interpolate(std::span<const double>(x.data() + i * d, static_cast<size_t>(d)), col, mode, range);
  }
  if (c.shape.size() == 1) return to_numpy(std::move(out), {});
  return to_numpy(std::move(out));
}

py::dict fit_dict(const lut::NamedFit& f) {
  auto d = py::cast<py::dict>(to_python(f.fit.to_json()));
  d["attributes"] = to_python(f.attributes);
  return d;
}

py::dict config_dict(const lut::ArrayPsConfig& c) {
  auto d = py::cast<py::dict>(to_python(c.to_attributes()));
  d["table"] = c.table;
  py::list axes;
  for (auto a : c.axes) axes.append(std::string(lut::axis_name(a)));
  d["axes"] = axes;
  return d;
}

// A column-read query: inputs (rows,) or (batch, rows), weights (rows, cols).
struct Reads {
  int rows = 0, cols = 0;
  size_t batch = 1;
  bool batched = false;
  std::vector<uint8_t> inputs, weights;
};
Reads reads_arg(py::handle inputs, py::handle weights) {
  Reads r;
  Checked w;
  r.weights = bits_arg(weights, "weights", {{kAny, kAny}}, "(rows, cols)", &w);
  r.rows = static_cast<int>(w.shape[0]);
  r.cols = static_cast<int>(w.shape[1]);
  if (r.rows < 1 || r.cols < 1) throw py::value_error("weights: expected at least one row and one column");
  Checked in;
  r.inputs = bits_arg(inputs, "inputs", {{r.rows}, {kAny, r.rows}},
                      fmt::format("(rows,) or (batch, rows) with rows = {} (weights' first dimension)", r.rows), &in);
  r.batched = in.shape.size() == 2;
  r.batch = r.batched ? static_cast<size_t>(in.shape[0]) : 1;
  return r;
}

std::vector<py::ssize_t> out_shape(const Reads& r) {
  if (r.batched) return {static_cast<py::ssize_t>(r.batch), r.cols};
  return {r.cols};
}

// Calls f(b, j, features) for every batch element b and column j.
template <class F>
void for_each_read(const Reads& r, F&& f) {
  for (size_t b = 0; b < r.batch; ++b) {
    const std::span<const uint8_t> in(r.inputs.data() + b * static_cast<size_t>(r.rows), static_cast<size_t>(r.rows));
    for (int j = 0; j < r.cols; ++j) f(b, j, lut::column_features(r.rows, r.cols, j, in, r.weights));
  }
}

class PyArrayLut {
public:
  explicit PyArrayLut(const std::string& dir) : lut_(std::make_shared<const ArrayPsLut>(ArrayPsLut::load(dir))) {}

  const ArrayPsLut& lut() const { return *lut_; }
  std::shared_ptr<const ArrayPsLut> shared() const { return lut_; }

  const lut::ArrayPsConfig& config(const std::string& cell, int rows, std::optional<double> wire_scale) const {
    return lut_->find(cell, rows, wire_scale);
  }

  py::tuple predict(py::handle inputs, py::handle weights, const std::string& cell, std::optional<double> wire_scale) const {
    const auto r = reads_arg(inputs, weights);
    const auto& cfg = config(cell, r.rows, wire_scale);
    std::vector<double> mean(r.batch * r.cols), std(r.batch * r.cols);
    {
      py::gil_scoped_release release;
      for_each_read(r, [&](size_t b, int j, const lut::ColumnFeatures& f) {
        const auto p = lut_->predict(cfg, f);
        mean[b * r.cols + j] = p.mean_A;
        std[b * r.cols + j] = p.std_A;
      });
    }
    return py::make_tuple(to_numpy(std::move(mean), out_shape(r)), to_numpy(std::move(std), out_shape(r)));
  }

  py::array_t<double> sample(py::handle inputs, py::handle weights, const std::string& cell,
                             std::optional<double> wire_scale, long long seed) const {
    const auto r = reads_arg(inputs, weights);
    const auto& cfg = config(cell, r.rows, wire_scale);
    const uint64_t s = non_negative(seed, "seed");
    std::vector<double> out(r.batch * r.cols);
    {
      py::gil_scoped_release release;
      // Batch element b draws from stream Rng(seed, b), its columns in order: the result for one
      // element does not depend on the batch it came in.
      std::vector<Rng> rngs;
      for (size_t b = 0; b < r.batch; ++b) rngs.emplace_back(s, b);
      for_each_read(r, [&](size_t b, int j, const lut::ColumnFeatures& f) {
        out[b * r.cols + j] = lut_->sample(cfg, f, rngs[b]);
      });
    }
    return to_numpy(std::move(out), out_shape(r));
  }

  py::array_t<double> coordinates(py::handle inputs, py::handle weights, const std::string& cell,
                                  std::optional<double> wire_scale) const {
    const auto r = reads_arg(inputs, weights);
    const auto& cfg = config(cell, r.rows, wire_scale);
    const size_t d = cfg.axes.size();
    std::vector<double> out(r.batch * r.cols * d);
    for_each_read(r, [&](size_t b, int j, const lut::ColumnFeatures& f) {
      const auto x = lut_->coordinates(cfg, f);
      std::copy(x.begin(), x.end(), out.begin() + static_cast<long>((b * r.cols + j) * d));
    });
    auto shape = out_shape(r);
    shape.push_back(static_cast<py::ssize_t>(d));
    return to_numpy(std::move(out), shape);
  }

private:
  std::shared_ptr<const ArrayPsLut> lut_;
};

}  // namespace

void bind_lut(py::module_& m) {
  py::class_<Table, std::shared_ptr<Table>>(m, "Table", R"doc(
An N-d lookup table of a bundle: named axes with units and grid points, value columns at every node.
values(column) is the column over the grid, shape (len(axis0), len(axis1), ...).
)doc")
      .def_property_readonly("name", &Table::name)
      .def_property_readonly("axes",
                             [](const Table& t) {
                               py::list l;
                               for (const auto& a : t.axes())
                                 l.append(py::make_tuple(a.name, a.unit, to_numpy(std::vector<double>(a.points))));
                               return l;
                             },
                             "[(name, unit, points)] in node order (the last axis varies fastest).")
      .def_property_readonly("columns",
                             [](const Table& t) {
                               py::list l;
                               for (const auto& c : t.columns()) l.append(py::make_tuple(c.name, c.unit));
                               return l;
                             },
                             "[(name, unit)].")
      .def_property_readonly("attributes", [](const Table& t) { return to_python(t.attributes); })
      .def_property_readonly("preferred_interp", [](const Table& t) { return lut::to_string(t.preferred_interp); })
      .def("values", &grid_values, py::arg("column"))
      .def("interpolate", &interpolate, py::arg("points"), py::arg("column"), py::arg("interp") = "linear",
           py::arg("out_of_range") = "clamp",
           "Interpolated column at points (dims,) or (n, dims), in axis order; out_of_range 'clamp' or 'error'.")
      .def("__repr__", [](const Table& t) {
        std::string axes;
        for (const auto& a : t.axes()) axes += fmt::format("{}{}[{}]", axes.empty() ? "" : " x ", a.name, a.points.size());
        return fmt::format("<xbarkit.Table {}: {}>", t.name(), axes);
      });

  py::class_<Bundle, std::shared_ptr<Bundle>>(m, "Bundle", R"doc(
A LUT bundle directory (lut.json + tables/*.csv), read and verified (schema version, every SHA-256).
)doc")
      .def_readonly("kind", &Bundle::kind)
      .def_property_readonly("dir", [](const Bundle& b) { return b.dir.string(); })
      .def_property_readonly("provenance", [](const Bundle& b) { return to_python(b.provenance); })
      .def_property_readonly("info", [](const Bundle& b) { return to_python(b.info); })
      .def_property_readonly("validation", [](const Bundle& b) { return to_python(b.validation); })
      .def_property_readonly("failures",
                             [](const Bundle& b) {
                               py::list l;
                               for (const auto& f : b.failures) l.append(py::dict(py::arg("point") = f.point, py::arg("error") = f.error));
                               return l;
                             })
      .def_property_readonly("tables",
                             [](const Bundle& b) {
                               py::list l;
                               for (const auto& t : b.tables) l.append(t.name());
                               return l;
                             },
                             "Table names.")
      .def("table", [](const Bundle& b, const std::string& name) { return std::make_shared<Table>(b.table(name)); },
           py::arg("name"))
      .def_property_readonly("fits",
                             [](const Bundle& b) {
                               py::dict d;
                               for (const auto& f : b.fits) d[py::str(f.name)] = fit_dict(f);
                               return d;
                             },
                             "{name: {kind, params, param_stderr, residuals, ..., attributes}}.")
      .def(
          "evaluate_fit",
          [](const Bundle& b, const std::string& name, py::handle x) {
            Checked c;
            auto v = real_arg(x, "x", {{}, {kAny}}, "() or (n,)", &c);
            const auto& f = b.fit(name);
            for (auto& e : v) e = f(e);
            if (c.shape.empty()) return to_numpy(std::move(v), {});
            return to_numpy(std::move(v));
          },
          py::arg("name"), py::arg("x"), "The named fit evaluated at x (scalar or 1-D array).")
      .def("__repr__", [](const Bundle& b) {
        return fmt::format("<xbarkit.Bundle {} at {}: {} tables, {} fits>", b.kind, b.dir.string(), b.tables.size(),
                           b.fits.size());
      });

  m.def(
      "load_bundle",
      [](const std::string& dir) {
        Bundle b;
        {
          py::gil_scoped_release release;
          b = lut::load_bundle(dir);
        }
        return std::make_shared<Bundle>(std::move(b));
      },
      py::arg("dir"), "Reads and verifies a LUT bundle directory.");

  py::class_<PyArrayLut>(m, "ArrayLut", R"doc(
An array_ps bundle: the sensed column current of a crossbar column read, as a distribution.

ArrayLut(dir). predict(inputs, weights, cell, wire_scale=None) -> (mean_A, std_A) per column;
sample(..., seed) draws N(mean, std) truncated at 0; coordinates(...) gives the table coordinates
(k, q, ...). inputs: (rows,) or (batch, rows) 0/1; weights: (rows, cols) 0/1; the table is the
bundle's configuration for the cell kind and rows, at the wire scale nearest to wire_scale
(default 1). Batch element b samples from the stream Rng(seed, b).
)doc")
      .def(py::init<const std::string&>(), py::arg("dir"))
      .def_property_readonly("bundle", [](const PyArrayLut& l) { return std::make_shared<Bundle>(l.lut().bundle()); })
      .def_property_readonly("configs",
                             [](const PyArrayLut& l) {
                               py::list out;
                               for (const auto& c : l.lut().configs()) out.append(config_dict(c));
                               return out;
                             },
                             "Every configuration: table, cell, rows, cols, wire_scale, full_scale_A, axes, ...")
      .def(
          "find",
          [](const PyArrayLut& l, const std::string& cell, int rows, std::optional<double> wire_scale) {
            return config_dict(l.config(cell, rows, wire_scale));
          },
          py::arg("cell"), py::arg("rows"), py::arg("wire_scale") = py::none())
      .def("predict", &PyArrayLut::predict, py::arg("inputs"), py::arg("weights"), py::kw_only(),
           py::arg("cell") = "sram8t", py::arg("wire_scale") = py::none())
      .def("sample", &PyArrayLut::sample, py::arg("inputs"), py::arg("weights"), py::kw_only(),
           py::arg("cell") = "sram8t", py::arg("wire_scale") = py::none(), py::arg("seed") = 1)
      .def("coordinates", &PyArrayLut::coordinates, py::arg("inputs"), py::arg("weights"), py::kw_only(),
           py::arg("cell") = "sram8t", py::arg("wire_scale") = py::none())
      .def("__repr__", [](const PyArrayLut& l) {
        return fmt::format("<xbarkit.ArrayLut {}: {} configurations>", l.lut().bundle().dir.string(), l.lut().configs().size());
      });

  m.def(
      "characterize",
      [](const std::string& recipe, const std::string& output, bool resume, bool force, long long threads,
         bool progress) {
        characterize::RunOptions o;
        o.output = output;
        o.resume = resume;
        o.force = force;
        o.threads = static_cast<unsigned>(non_negative(threads, "threads"));
        o.progress = progress ? ProgressMode::automatic : ProgressMode::off;  // lines in a notebook, a bar on a terminal
        characterize::RunSummary s;
        {
          py::gil_scoped_release release;
          s = characterize::run_characterization(recipe, o);
        }
        return py::dict(py::arg("output") = output, py::arg("points") = s.points, py::arg("computed") = s.computed,
                        py::arg("reused") = s.reused, py::arg("failed") = s.failed, py::arg("elapsed_s") = s.elapsed_s);
      },
      py::arg("recipe"), py::arg("output"), py::kw_only(), py::arg("resume") = false, py::arg("force") = false,
      py::arg("threads") = 0, py::arg("progress") = false,
      R"doc(
Runs a characterization recipe (as `xbarkit characterize RECIPE -o OUTPUT`) into a bundle directory and
returns {output, points, computed, reused, failed, elapsed_s}. threads overrides the recipe's when > 0.
SIGINT/SIGTERM journal the points in flight and raise xbarkit.Interrupted (resume=True continues).
The GIL is released while it runs.
)doc");
}

}  // namespace xbarkit::python
