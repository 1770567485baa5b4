#include "common.hpp"

#include <cmath>

#include <fmt/format.h>

namespace xbarkit::python {

namespace {

std::string shape_string(const std::vector<py::ssize_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] == kAny ? std::string("any") : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

bool shape_matches(const std::vector<py::ssize_t>& got, const std::vector<py::ssize_t>& want) {
  if (got.size() != want.size()) return false;
  for (size_t i = 0; i < got.size(); ++i)
    if (want[i] != kAny && want[i] != got[i]) return false;
  return true;
}

// np.asarray(obj) with the argument's name in the error when it cannot be an array at all.
py::array as_array(py::handle obj, const std::string& name, const char* what) {
  if (obj.is_none()) throw py::type_error(fmt::format("{}: expected {}, got None", name, what));
  if (py::isinstance<py::str>(obj) || py::isinstance<py::bytes>(obj))
    throw py::type_error(fmt::format("{}: expected {}, got a string", name, what));
  py::object arr;
  try {
    arr = py::module_::import("numpy").attr("asarray")(obj);
  } catch (py::error_already_set& e) {
    throw py::type_error(fmt::format("{}: expected {}; cannot make an array of it ({})", name, what, e.what()));
  }
  return py::reinterpret_borrow<py::array>(arr);
}

// dtype kind letter: b bool, i signed, u unsigned, f float, c complex, O object, U/S strings, ...
char kind_of(const py::array& a) { return a.dtype().kind(); }

std::vector<py::ssize_t> shape_of(const py::array& a) {
  return std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim());
}

void check_shape(const py::array& a, const std::string& name, const std::vector<std::vector<py::ssize_t>>& shapes,
                 const std::string& shape_text, Checked* checked) {
  const auto got = shape_of(a);
  bool ok = false;
  for (const auto& s : shapes) ok |= shape_matches(got, s);
  if (!ok) {
    std::string expected;
    for (const auto& s : shapes) expected += (expected.empty() ? "" : " or ") + shape_string(s);
    throw py::value_error(
        fmt::format("{}: expected shape {} = {}, got {}", name, shape_text, expected, shape_string(got)));
  }
  if (checked) checked->shape = got;
}

template <class T>
std::vector<T> copy_as(const py::array& a) {
  auto c = py::array_t<T, py::array::c_style | py::array::forcecast>::ensure(a);
  if (!c) throw py::error_already_set();
  return std::vector<T>(c.data(), c.data() + c.size());
}

}  // namespace

std::vector<uint8_t> bits_arg(py::handle obj, const std::string& name, const std::vector<std::vector<py::ssize_t>>& shapes,
                              const std::string& shape_text, Checked* checked) {
  const char* what = "an array of 0/1 values (bool or integer dtype)";
  const auto a = as_array(obj, name, what);
  const char k = kind_of(a);
  if (k != 'b' && k != 'i' && k != 'u')
    throw py::type_error(fmt::format("{}: expected {}, got dtype {}", name, what, std::string(py::str(a.dtype()))));
  check_shape(a, name, shapes, shape_text, checked);
  const auto v = copy_as<int64_t>(a);
  std::vector<uint8_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != 0 && v[i] != 1)
      throw py::value_error(fmt::format("{}: expected 0/1 values, element {} (flat index) is {}", name, i, v[i]));
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return out;
}

std::vector<double> real_arg(py::handle obj, const std::string& name, const std::vector<std::vector<py::ssize_t>>& shapes,
                             const std::string& shape_text, Checked* checked) {
  const char* what = "an array of real numbers (integer or floating dtype)";
  const auto a = as_array(obj, name, what);
  const char k = kind_of(a);
  if (k != 'b' && k != 'i' && k != 'u' && k != 'f')
    throw py::type_error(fmt::format("{}: expected {}, got dtype {}", name, what, std::string(py::str(a.dtype()))));
  check_shape(a, name, shapes, shape_text, checked);
  auto v = copy_as<double>(a);
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i]))
      throw py::value_error(fmt::format("{}: expected finite values, element {} (flat index) is {}", name, i, v[i]));
  return v;
}

std::vector<uint8_t> bytes_arg(py::handle obj, const std::string& name,
                               const std::vector<std::vector<py::ssize_t>>& shapes, const std::string& shape_text,
                               Checked* checked) {
  const char* what = "an array of pixel values 0..255 (integer dtype, e.g. uint8)";
  const auto a = as_array(obj, name, what);
  const char k = kind_of(a);
  if (k != 'i' && k != 'u')
    throw py::type_error(fmt::format("{}: expected {}, got dtype {}", name, what, std::string(py::str(a.dtype()))));
  check_shape(a, name, shapes, shape_text, checked);
  if (a.dtype().is(py::dtype::of<uint8_t>())) return copy_as<uint8_t>(a);
  const auto v = copy_as<int64_t>(a);
  std::vector<uint8_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] < 0 || v[i] > 255)
      throw py::value_error(fmt::format("{}: expected values 0..255, element {} (flat index) is {}", name, i, v[i]));
    out[i] = static_cast<uint8_t>(v[i]);
  }
  return out;
}

uint64_t non_negative(long long value, const std::string& name) {
  if (value < 0) throw py::value_error(fmt::format("{}: expected a non-negative integer, got {}", name, value));
  return static_cast<uint64_t>(value);
}

imc::SimConfig sim_config(int rows, int cols, const std::string& mapping, const std::string& binsparx,
                          const std::string& cell, double wire_scale, const std::string& tech,
                          const std::string& converter, long long seed, bool lut_mean) {
  if (rows < 2 || rows > 4096) throw py::value_error(fmt::format("rows: expected 2..4096, got {}", rows));
  if (cols < 0 || cols > 4096) throw py::value_error(fmt::format("cols: expected 0..4096 (0 = rows), got {}", cols));
  if (mapping != "xnor" && mapping != "and")
    throw py::value_error(fmt::format("mapping: expected 'xnor' or 'and', got '{}'", mapping));
  if (binsparx != "none" && binsparx != "static" && binsparx != "dynamic" && binsparx != "both" &&
      binsparx != "static-data" && binsparx != "both-data")
    throw py::value_error(fmt::format("binsparx: expected one of {}, got '{}'", imc::kBinSparXModes, binsparx));
  if (!std::isfinite(wire_scale) || wire_scale < 0)
    throw py::value_error(fmt::format("wire_scale: expected a finite number >= 0, got {}", wire_scale));
  imc::SimConfig cfg;
  cfg.mapping = imc::parse_mapping(mapping);
  cfg.binsparx = imc::parse_binsparx(binsparx);
  cfg.rows = rows;
  cfg.cols = cols;
  cfg.cell = cell;
  cfg.wire_scale = wire_scale;
  cfg.tech = tech;
  cfg.converter = converter;
  cfg.seed = non_negative(seed, "seed");
  cfg.lut_noise = !lut_mean;
  return cfg;
}

namespace {
template <class Json>
py::object convert(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return py::none();
    case nlohmann::json::value_t::boolean: return py::bool_(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return py::int_(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: return py::int_(j.template get<uint64_t>());
    case nlohmann::json::value_t::number_float: return py::float_(j.template get<double>());
    case nlohmann::json::value_t::string: return py::str(j.template get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      py::list l;
      for (const auto& e : j) l.append(convert(e));
      return l;
    }
    case nlohmann::json::value_t::object: {
      py::dict d;
      for (auto it = j.begin(); it != j.end(); ++it) d[py::str(it.key())] = convert(it.value());
      return d;
    }
    default: return py::none();  // binary and discarded values do not occur in xbarkit's documents
  }
}
}  // namespace

py::object to_python(const nlohmann::json& j) { return convert(j); }
py::object to_python(const nlohmann::ordered_json& j) { return convert(j); }

}  // namespace xbarkit::python
