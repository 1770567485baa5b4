#pragma once
// Shared by the binding files: NumPy argument checking (TypeError / ValueError naming the argument
// and the expected shape), zero-copy NumPy results, and JSON -> Python conversion.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "xbarkit/imc/simulator.hpp"
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace xbarkit::python {

namespace py = pybind11;

// One dimension of an expected shape: a size, or kAny.
constexpr py::ssize_t kAny = -1;

// What an array argument must hold.
enum class Elements {
  bits,   // 0/1 values: bool or integer dtype
  real,   // finite numbers: bool, integer or floating dtype
  bytes,  // uint8 values 0..255: integer dtype
};

// `obj` (any array-like) as a C-contiguous copy of `T` values, after checking its dtype (TypeError)
// and shape (ValueError: "NAME: expected shape (a, b), got (c, d)"); `shape_text` describes the
// expected shape in the message (e.g. "(rows, cols)"). Accepts several expected ranks via `shapes`.
struct Checked {
  std::vector<py::ssize_t> shape;
};
std::vector<uint8_t> bits_arg(py::handle obj, const std::string& name, const std::vector<std::vector<py::ssize_t>>& shapes,
                              const std::string& shape_text, Checked* checked = nullptr);
std::vector<double> real_arg(py::handle obj, const std::string& name, const std::vector<std::vector<py::ssize_t>>& shapes,
                             const std::string& shape_text, Checked* checked = nullptr);
std::vector<uint8_t> bytes_arg(py::handle obj, const std::string& name,
                               const std::vector<std::vector<py::ssize_t>>& shapes, const std::string& shape_text,
                               Checked* checked = nullptr);

// Moves `values` into a NumPy array of the given shape without copying (the array owns the vector).
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values, std::vector<py::ssize_t> shape) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule owner(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(std::move(shape), owned->data(), owner);
}
template <class T>
py::array_t<T> to_numpy(std::vector<T>&& values) {
  const auto n = static_cast<py::ssize_t>(values.size());
  return to_numpy(std::move(values), {n});
}

// A JSON document as Python dicts, lists, numbers, strings, bools and None.
py::object to_python(const nlohmann::json& j);
py::object to_python(const nlohmann::ordered_json& j);

// Non-negative integer arguments (thread counts, image counts, seeds) that C++ holds unsigned: a
// negative Python int would wrap around, so it is a ValueError naming the argument.
uint64_t non_negative(long long value, const std::string& name);

// The simulator configuration of `xbarkit infer`'s options, checked as there (CLI::Range / IsMember)
// but as ValueErrors naming the argument: rows 2..4096, cols 0..4096, mapping xnor | and, binsparx
// none | static | dynamic | both, wire_scale finite >= 0, seed >= 0. Sensing and the array LUT are
// the caller's.
imc::SimConfig sim_config(int rows, int cols, const std::string& mapping, const std::string& binsparx,
                          const std::string& cell, double wire_scale, const std::string& tech,
                          const std::string& converter, long long seed, bool lut_mean);

// Module parts (one file each).
void bind_errors(py::module_& m);
void bind_crossbar(py::module_& m);
void bind_lut(py::module_& m);
void bind_mtj(py::module_& m);
void bind_nn(py::module_& m);
void bind_imc(py::module_& m);

}  // namespace xbarkit::python
