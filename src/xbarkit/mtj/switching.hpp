#pragma once
// Pulsed switching of an SOT-MTJ: single trajectories (m(t) traces) and the Monte-Carlo switching
// probability P_sw(I) with a logistic fit. Thread-safe and deterministic: trajectory (current k,
// trial j) draws from its own stream Rng(derive_seed(seed, k), j), so results are bit-identical for
// any thread count.
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/llg.hpp"
#include "xbarkit/mtj/vec3.hpp"

namespace xbarkit { class Rng; }

namespace xbarkit::mtj {

struct PswRequest {
  std::vector<double> currents_A;
  double pulse_s = 10e-9;     // full width at half maximum
  int trials = 100;
  uint64_t seed = 1;
  unsigned threads = 0;       // 0 = all cores
  double dt_s = 1e-12;
  double rise_s = 20e-12;
  double fall_s = 20e-12;
  double relax_s = 0;         // relaxation after the pulse; 0 = auto (3 relaxation times, 0.5-20 ns)
  int initial = 0;            // start along +u (+1) or -u (-1); 0 = the well positive current leaves
  bool thermal_initial = true;  // T > 0: draw m(0) from the in-well Boltzmann distribution
  std::string dt_key = "dt_s";  // how errors name the time step ("--dt", "simulation.dt_s", ...)
  int noise_substeps = 1;     // > 1: Brownian-path refinement (see ThermalField) for dt studies
  double tilt_rad = 0;        // start tilted this far from the equilibrium (see trace's tilt)
};

struct PswPoint {
  double current_A = 0;
  double p_switch = 0;
  double stderr_ = 0;  // binomial standard error sqrt(p(1-p)/n)
  int trials = 0;
  int switched = 0;
  int crossed = 0;                  // trajectories that crossed m.u = 0 at least once
  double mean_first_passage_s = NAN;  // mean time of their first crossing (NaN: none crossed)
};

// P(I) = 1 / (1 + exp(-(I - i50) / scale)), maximum-likelihood (binomial) fit; errors from the
// inverse Fisher information; chi2_per_dof is Pearson's chi^2 / (points - 2).
struct LogisticFit {
  double i50_A = 0, scale_A = 0, i50_err_A = 0, scale_err_A = 0, chi2_per_dof = 0;
  bool ok = false;
  std::string note;
};

struct PswResult {
  std::vector<PswPoint> points;
  std::vector<uint8_t> outcomes;  // switched flag per trajectory, index = current * trials + trial
  std::vector<double> first_passage_s;  // first crossing of m.u = 0 per trajectory (NaN: never)
  Vec3 m_start{};                 // the start before any thermal draw (equilibrium, tilted)
  LogisticFit fit;
  int initial = 1;            // the well trajectories started in (+1 = +u)
  double dt_s = 0, relax_s = 0;
  uint64_t steps = 0;         // stochastic steps taken in total
  double seconds = 0;         // wall time
  unsigned threads = 1;
};

using Progress = std::function<void(size_t done, size_t total)>;

PswResult switching_probability(const Device& d, const PswRequest& req, const Progress& progress = {});

LogisticFit fit_logistic(const std::vector<PswPoint>& points);

// The auto relaxation time after a pulse (3 / (alpha gamma' (H1 + H2)/2), clamped to 0.5-20 ns).
double auto_relax_s(const Device& d);
// Which well (+1: +u, -1: -u) a positive write current switches out of (closed-form torque rule).
int auto_initial(const Device& d);
// Deterministic (T = 0) LLGS from t0 to t1 on the unit sphere: Dormand-Prince 5(4) with projection
// onto |m| = 1 after every accepted step. `observer(m, t)` sees every accepted step. Honours stop
// requests (core/stop.hpp).
Vec3 integrate_on_sphere(const LlgSystem& sys, Vec3 m, double t0, double t1, double dt0,
                         const std::function<void(const Vec3&, double)>& observer = {});

// Zero-current T = 0 equilibrium in the well `sign` (Dormand-Prince relaxation).
Vec3 equilibrium(const Device& d, int sign);
// Draw m from the harmonic (small-angle) Boltzmann distribution of the well around m_eq.
Vec3 sample_thermal(const Device& d, const Vec3& m_eq, Rng& rng);

struct TraceRequest {
  double current_A = 0;
  double pulse_s = 10e-9;
  double rise_s = 20e-12, fall_s = 20e-12;
  double relax_s = 0;         // 0 = auto
  double dt_s = 1e-12;
  double sample_s = 0;        // output interval; 0 = about 2000 samples
  uint64_t seed = 1;
  int initial = 0;
  bool thermal_initial = true;
  std::string dt_key = "dt_s";
  // Start tilted by this angle from the equilibrium, rotating towards x (towards y when the
  // equilibrium lies near x): a collinear torque exerts nothing on an exactly aligned m at T = 0.
  double tilt_rad = 0;
};
struct TraceSample {
  double t_s;
  Vec3 m;
  double current_A;
};
struct TraceResult {
  std::vector<TraceSample> samples;
  int initial = 1;
  bool switched = false;
  double first_passage_s = NAN;  // first crossing of m.u = 0 (NaN: never)
  std::string stepper;
};
// One trajectory: stochastic Heun at T > 0, Odeint's Dormand-Prince (error-controlled, dense output)
// at T = 0.
TraceResult trace(const Device& d, const TraceRequest& req);

// Validates a time step against the device (and the largest current): dt <= precession period / 10.
void check_time_step(const Device& d, double dt_s, double max_current_A, const std::string& key);

}  // namespace xbarkit::mtj
