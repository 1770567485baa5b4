#include "xbarkit/circuit/iv_table.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/netlist/deck_writer.hpp"

namespace xbarkit::circuit {

namespace {

// Fourth-order finite-difference derivative of samples f[k*stride] (k = 0..n-1, spacing h) at k:
// centred inside, one-sided at the two ends. With O(h^4) node derivatives the bicubic Hermite
// interpolant is O(h^4) accurate.
double derivative(const double* f, int stride, int n, int k, double h) {
  auto at = [&](int i) { return f[i * stride]; };
  if (n < 5) {  // too few points for fourth order: second order
    if (n < 2) return 0;
    if (k == 0) return (at(1) - at(0)) / h;
    if (k == n - 1) return (at(n - 1) - at(n - 2)) / h;
    return (at(k + 1) - at(k - 1)) / (2 * h);
  }
  if (k >= 2 && k <= n - 3) return (at(k - 2) - 8 * at(k - 1) + 8 * at(k + 1) - at(k + 2)) / (12 * h);
  if (k == 0) return (-25 * at(0) + 48 * at(1) - 36 * at(2) + 16 * at(3) - 3 * at(4)) / (12 * h);
  if (k == 1) return (-3 * at(0) - 10 * at(1) + 18 * at(2) - 6 * at(3) + at(4)) / (12 * h);
  if (k == n - 1) return -(-25 * at(n - 1) + 48 * at(n - 2) - 36 * at(n - 3) + 16 * at(n - 4) - 3 * at(n - 5)) / (12 * h);
  return -(-3 * at(n - 1) - 10 * at(n - 2) + 18 * at(n - 3) - 6 * at(n - 4) + at(n - 5)) / (12 * h);  // k == n-2
}

}  // namespace

TransistorTable::TransistorTable(std::string description, std::vector<double> gate_levels_V, TableGrid grid,
                                 std::vector<std::vector<double>> current_A)
    : description_(std::move(description)), gates_(std::move(gate_levels_V)), grid_(grid), samples_(std::move(current_A)) {
  if (!(grid_.step > 0) || !(grid_.v_max > grid_.v_min))
    throw InputError("I-V table", "grid", "needs v_max > v_min and step > 0");
  n_ = static_cast<int>(std::lround((grid_.v_max - grid_.v_min) / grid_.step)) + 1;
  if (n_ < 2 || std::abs(grid_.v_min + (n_ - 1) * grid_.step - grid_.v_max) > 1e-9)
    throw InputError("I-V table", "grid", "(v_max - v_min) must be a whole number of steps");
  if (samples_.size() != gates_.size())
    throw InputError("I-V table", "samples", "one sample set per gate level expected");
  const int n = n_;
  const double h = grid_.step;
  nodes_.resize(samples_.size());
  for (size_t g = 0; g < samples_.size(); ++g) {
    const auto& f = samples_[g];
    if (f.size() != static_cast<size_t>(n) * n)
      throw InputError("I-V table", "samples", fmt::format("gate level {} has {} samples, expected {}", g, f.size(), n * n));
    auto& nd = nodes_[g];
    nd.resize(f.size());
    std::vector<double> fx(f.size());
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) {
        const size_t k = static_cast<size_t>(a) * n + b;
        nd[k].f = f[k];
        nd[k].fx = fx[k] = derivative(&f[static_cast<size_t>(b)], n, n, a, h);  // along Vd (index a)
        nd[k].fy = derivative(&f[static_cast<size_t>(a) * n], 1, n, b, h);       // along Vs (index b)
      }
    for (int a = 0; a < n; ++a)
      for (int b = 0; b < n; ++b) nd[static_cast<size_t>(a) * n + b].fxy = derivative(&fx[static_cast<size_t>(a) * n], 1, n, b, h);
  }
}

int TransistorTable::gate_index(double vg) const {
  for (size_t g = 0; g < gates_.size(); ++g)
    if (std::abs(gates_[g] - vg) <= 1e-6) return static_cast<int>(g);
  throw InputError("I-V table", "gate_levels",
                   fmt::format("the table '{}' has no gate level {} V; re-characterize with the array's vdd", description_, vg));
}

IV2 TransistorTable::eval(int g, double vd, double vs) const {
  const double lo = grid_.v_min, hi = grid_.v_max, h = grid_.step;
  // Outside the grid: C1 linear continuation from the nearest boundary point.
  const double cd = std::clamp(vd, lo, hi), cs = std::clamp(vs, lo, hi);
  const int n = n_;
  int a = std::min(static_cast<int>((cd - lo) / h), n - 2), b = std::min(static_cast<int>((cs - lo) / h), n - 2);
  a = std::max(a, 0), b = std::max(b, 0);
  const double t = (cd - (lo + a * h)) / h, u = (cs - (lo + b * h)) / h;
  const auto& nd = nodes_[static_cast<size_t>(g)];
  const Node* p[2][2] = {{&nd[static_cast<size_t>(a) * n + b], &nd[static_cast<size_t>(a) * n + b + 1]},
                         {&nd[static_cast<size_t>(a + 1) * n + b], &nd[static_cast<size_t>(a + 1) * n + b + 1]}};
  // Cubic Hermite basis: value (h0) and slope (h1) functions for each end, and their derivatives.
  auto basis = [](double s, double h0[2], double h1[2], double dh0[2], double dh1[2]) {
    const double s2 = s * s, s3 = s2 * s;
    h0[0] = 2 * s3 - 3 * s2 + 1, h0[1] = -2 * s3 + 3 * s2;
    h1[0] = s3 - 2 * s2 + s, h1[1] = s3 - s2;
    dh0[0] = 6 * s2 - 6 * s, dh0[1] = -6 * s2 + 6 * s;
    dh1[0] = 3 * s2 - 4 * s + 1, dh1[1] = 3 * s2 - 2 * s;
  };
  double ht0[2], ht1[2], dt0[2], dt1[2], hu0[2], hu1[2], du0[2], du1[2];
  basis(t, ht0, ht1, dt0, dt1);
  basis(u, hu0, hu1, du0, du1);
  double f = 0, ft = 0, fu = 0;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j) {
      const Node& q = *p[i][j];
      f += q.f * ht0[i] * hu0[j] + h * q.fx * ht1[i] * hu0[j] + h * q.fy * ht0[i] * hu1[j] + h * h * q.fxy * ht1[i] * hu1[j];
      ft += q.f * dt0[i] * hu0[j] + h * q.fx * dt1[i] * hu0[j] + h * q.fy * dt0[i] * hu1[j] + h * h * q.fxy * dt1[i] * hu1[j];
      fu += q.f * ht0[i] * du0[j] + h * q.fx * ht1[i] * du0[j] + h * q.fy * ht0[i] * du1[j] + h * h * q.fxy * ht1[i] * du1[j];
    }
  IV2 out{f, ft / h, fu / h};
  out.i += out.d1 * (vd - cd) + out.d2 * (vs - cs);
  return out;
}

void TransistorTable::save(const std::filesystem::path& path) const {
  nlohmann::ordered_json j;
  j["format"] = "xbarkit transistor I-V table 1";
  j["description"] = description_;
  j["quantity"] = "drain current (A) into d of the (d g s) subcircuit, samples[gate][i_vd * n + i_vs]";
  j["gate_levels_V"] = gates_;
  j["grid"] = {{"v_min", grid_.v_min}, {"v_max", grid_.v_max}, {"step", grid_.step}, {"points_per_axis", n_}};
  j["samples"] = samples_;
  write_file_atomic(path, j.dump() + "\n");
}

TransistorTable TransistorTable::load(const std::filesystem::path& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string(), "", fmt::format("not valid JSON: {}", e.what()));
  }
  try {
    if (j.at("format") != "xbarkit transistor I-V table 1")
      throw InputError(path.string(), "format", "not an xbarkit transistor I-V table");
    TableGrid g{j.at("grid").at("v_min").get<double>(), j.at("grid").at("v_max").get<double>(),
                j.at("grid").at("step").get<double>()};
    return TransistorTable(j.at("description").get<std::string>(), j.at("gate_levels_V").get<std::vector<double>>(), g,
                           j.at("samples").get<std::vector<std::vector<double>>>());
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path.string(), "", fmt::format("malformed I-V table: {}", e.what()));
  }
}


}  // namespace xbarkit::circuit
