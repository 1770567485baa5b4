#pragma once
// Event-level Monte Carlo of CBRAM cells and the fit of the tau(V) law to switching counts.
//
// A Cell is one physical device: its own tau0 (device-to-device draw) and its resistance state. A bit
// is RESET (which may fail), SET pulse (Poisson filament formation: the cell switches iff the
// exponential waiting time, drawn with the cycle's tau, is shorter than the pulse), read.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/core/rng.hpp"

namespace xbarkit::cbram {

struct Cell {
  double tau0_factor = 1.0;  // this device's tau0 / nominal tau0
  bool low_resistance = false;

  // Draws a device of the population of d (factor exp(sigma_d2d * z)).
  static Cell draw(const Device& d, Rng& rng);

  // One bit: RESET (fails with d.reset_failure_probability when the cell is in LRS), SET pulse of
  // (voltage_V, pulse_s) with a fresh cycle-to-cycle factor and Poisson waiting time, read.
  // Returns the bit read (1 = low resistance).
  bool bit(const Device& d, double voltage_V, double pulse_s, Rng& rng);
};

struct SwitchCount {
  double voltage_V = 0, pulse_s = 0;
  int64_t trials = 0, switched = 0;
};

// `trials` independent SET attempts at (voltage, pulse) from the RESET state. population = false: the
// nominal device (tau0 as in the file); true: every trial draws a fresh device of the population.
SwitchCount count_switching(const Device& d, double voltage_V, double pulse_s, int64_t trials, bool population,
                            uint64_t seed);

// Binomial maximum-likelihood fit of P = 1 - exp(-t / (tau0 exp(-V / V0))) to counts at several
// voltages and pulse widths (Fisher scoring on (ln tau0, 1/V0)). Standard errors from the inverse
// Fisher information; chi2_per_dof is Pearson's sum over points with n p (1 - p) >= 1 against the
// fitted curve, divided by (points used - 2).
struct TauFit {
  bool ok = false;
  std::string note;
  double tau0_s = 0, v0_V = 0;
  double tau0_rel_err = 0, v0_rel_err = 0;  // 1-sigma relative standard errors
  double chi2_per_dof = 0;
  size_t points_used = 0;
};
TauFit fit_tau_law(std::span<const SwitchCount> counts);

// Pearson chi^2 of counts against a model probability per point, over points with n p (1 - p) >= 1
// (where the normal approximation of the binomial is usable). Returns {chi2, points used}.
struct Chi2 {
  double chi2 = 0;
  size_t points = 0;
};
Chi2 pearson_chi2(std::span<const SwitchCount> counts, std::span<const double> model_p);

// Per-voltage maximum-likelihood tau from the counts at that voltage (one-parameter binomial MLE),
// with its standard error; NaN when the counts carry no information (all 0 or all switched).
struct TauAtVoltage {
  double voltage_V = 0, tau_s = 0, tau_err_s = 0;
};
TauAtVoltage fit_tau_at_voltage(std::span<const SwitchCount> counts_at_one_voltage);

}  // namespace xbarkit::cbram
