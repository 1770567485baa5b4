#include "xbarkit/cbram/device.hpp"

#include <cmath>

#include <Eigen/Eigenvalues>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/toml_reader.hpp"

namespace xbarkit::cbram {

namespace {

// Fastest filament formation the model may be asked for: the ionic hopping attempt time
// (~1/(10^13 Hz), the phonon frequency scale of thermally activated ion migration, Waser et al.,
// Adv. Mater. 21, 2632 (2009): docs/REFERENCES.md §19). tau(V) below it means V0/tau0 were
// extrapolated beyond any physical regime.
constexpr double kAttemptTime_s = 1e-13;
constexpr double kMaxSigmaLn = 3.0;  // a factor e^3 = 20 per standard deviation; beyond is not a device

struct GaussHermite {
  std::vector<double> x, w;  // nodes and weights for E[f(z)], z ~ N(0, 1)
};

// Golub-Welsch for the probabilists' Hermite polynomials: the Jacobi matrix has zero diagonal and
// off-diagonal sqrt(k); nodes are its eigenvalues, weights the squared first eigenvector components.
const GaussHermite& gauss_hermite() {
  static const GaussHermite gh = [] {
    constexpr int n = 64;
    Eigen::MatrixXd J = Eigen::MatrixXd::Zero(n, n);
    for (int k = 1; k < n; ++k) J(k, k - 1) = J(k - 1, k) = std::sqrt(static_cast<double>(k));
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(J);
    GaussHermite g;
    for (int i = 0; i < n; ++i) {
      g.x.push_back(es.eigenvalues()(i));
      const double v = es.eigenvectors()(0, i);
      g.w.push_back(v * v);
    }
    return g;
  }();
  return gh;
}

struct SwitchCtx {
  double t_over_tau;
};

double switched_given_factor(double factor, const void* ctx) {
  return -std::expm1(-static_cast<const SwitchCtx*>(ctx)->t_over_tau / factor);
}

}  // namespace

double Device::tau_s(double voltage_V) const { return tau0_s * std::exp(-voltage_V / v0_V); }

double lognormal_expectation(double sigma, double (*f)(double, const void*), const void* ctx) {
  if (sigma == 0) return f(1.0, ctx);
  const auto& gh = gauss_hermite();
  double acc = 0;
  for (size_t i = 0; i < gh.x.size(); ++i) acc += gh.w[i] * f(std::exp(sigma * gh.x[i]), ctx);
  return acc;
}

double p_switch(const Device& d, double voltage_V, double pulse_s, double tau0_factor) {
  const SwitchCtx ctx{pulse_s / (d.tau_s(voltage_V) * tau0_factor)};
  return lognormal_expectation(d.tau0_c2c_sigma_ln, switched_given_factor, &ctx);
}

double p_switch_population(const Device& d, double voltage_V, double pulse_s) {
  const SwitchCtx ctx{pulse_s / d.tau_s(voltage_V)};
  const double s = std::hypot(d.tau0_d2d_sigma_ln, d.tau0_c2c_sigma_ln);
  return lognormal_expectation(s, switched_given_factor, &ctx);
}

double pulse_for_probability(const Device& d, double p, double voltage_V, double tau0_factor) {
  if (!(p >= 0 && p < 1))
    throw Error(fmt::format("CBRAM pulse for P_sw = {}: the probability must be in [0, 1) (1 needs an infinite pulse)", p));
  if (p == 0) return 0;
  const double tau = d.tau_s(voltage_V) * tau0_factor;
  const double t_exact = -tau * std::log1p(-p);
  if (d.tau0_c2c_sigma_ln == 0) return t_exact;
  // P_sw(t) is increasing in t: bisection on log t around the no-variation answer.
  double lo = std::log(t_exact) - 20, hi = std::log(t_exact) + 20;
  for (int it = 0; it < 200 && hi - lo > 1e-13; ++it) {
    const double mid = 0.5 * (lo + hi);
    (p_switch(d, voltage_V, std::exp(mid), tau0_factor) < p ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

void validate(const Device& d) {
  const std::string& f = d.source_file;
  auto positive = [&](double v, const char* key) {
    if (!(v > 0) || !std::isfinite(v)) throw InputError(f, key, fmt::format("must be a finite number > 0, got {}", v));
  };
  positive(d.tau0_s, "switching.tau0_s");
  positive(d.v0_V, "switching.v0_V");
  if (d.v0_V < 1e-3 || d.v0_V > 10)
    throw InputError(f, "switching.v0_V",
                     fmt::format("{} V is outside the physical range 1 mV .. 10 V of an ECM voltage scale", d.v0_V));
  if (d.tau0_s > 1e15)
    throw InputError(f, "switching.tau0_s", fmt::format("{} s exceeds 1e15 s (30 million years): not a measured device", d.tau0_s));
  auto sigma = [&](double v, const char* key) {
    if (!(v >= 0 && v <= kMaxSigmaLn))
      throw InputError(f, key, fmt::format("must be in [0, {}] (a lognormal sigma of ln tau0), got {}", kMaxSigmaLn, v));
  };
  sigma(d.tau0_d2d_sigma_ln, "variation.tau0_d2d_sigma_ln");
  sigma(d.tau0_c2c_sigma_ln, "variation.tau0_c2c_sigma_ln");
  if (!(d.reset_failure_probability >= 0 && d.reset_failure_probability < 1))
    throw InputError(f, "variation.reset_failure_probability",
                     fmt::format("must be in [0, 1), got {}", d.reset_failure_probability));
  positive(d.program_voltage_V, "operation.program_voltage_V");
  positive(d.max_pulse_s, "operation.max_pulse_s");
  if (!(d.read_voltage_V >= 0) || !std::isfinite(d.read_voltage_V))
    throw InputError(f, "operation.read_voltage_V", fmt::format("must be >= 0, got {}", d.read_voltage_V));
  const double tau_prog = d.tau_s(d.program_voltage_V);
  if (!(tau_prog >= kAttemptTime_s))
    throw InputError(f, "operation.program_voltage_V",
                     fmt::format("tau({} V) = {:.3g} s is below the ~1e-13 s ionic attempt time: tau0_s/v0_V are "
                                 "extrapolated outside any physical regime",
                                 d.program_voltage_V, tau_prog));
  if (d.read_voltage_V >= d.program_voltage_V)
    throw InputError(f, "operation.read_voltage_V", "must be below the program voltage");
  if (d.tau_s(d.read_voltage_V) < 1.0)
    throw InputError(f, "operation.read_voltage_V",
                     fmt::format("tau({} V) = {:.3g} s: reading would SET the cell within a second", d.read_voltage_V,
                                 d.tau_s(d.read_voltage_V)));
}

Device load_device(const std::filesystem::path& name_or_path) {
  std::filesystem::path path = name_or_path;
  if (!path.has_extension() && !path.has_parent_path()) path = models_dir() / "cbram" / (path.string() + ".toml");
  if (!std::filesystem::exists(path))
    throw InputError(path.string(), "", "CBRAM device file not found (give a path or a name in models/cbram/)");
  const auto doc = TomlDocument::from_file(path);
  const auto root = doc.root();
  Device d;
  d.source_file = path.string();
  if (auto dev = root.table("device")) {
    d.name = dev->string("name").value_or(path.stem().string());
    d.description = dev->string("description").value_or("");
    dev->string_array("sources");  // provenance, free text
    dev->reject_unknown_keys();
  } else {
    d.name = path.stem().string();
  }
  const auto sw = root.require_table("switching");
  d.tau0_s = sw.require_number("tau0_s");
  d.v0_V = sw.require_number("v0_V");
  sw.reject_unknown_keys();
  if (auto var = root.table("variation")) {
    d.tau0_d2d_sigma_ln = var->number("tau0_d2d_sigma_ln").value_or(0.0);
    d.tau0_c2c_sigma_ln = var->number("tau0_c2c_sigma_ln").value_or(0.0);
    d.reset_failure_probability = var->number("reset_failure_probability").value_or(0.0);
    var->reject_unknown_keys();
  }
  const auto op = root.require_table("operation");
  d.program_voltage_V = op.require_number("program_voltage_V");
  d.max_pulse_s = op.require_number("max_pulse_s");
  d.read_voltage_V = op.number("read_voltage_V").value_or(0.1);
  op.reject_unknown_keys();
  root.reject_unknown_keys();
  validate(d);
  return d;
}

}  // namespace xbarkit::cbram
