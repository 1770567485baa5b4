#include "xbarkit/mtj/switching.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>

#include <boost/numeric/odeint/integrate/integrate_adaptive.hpp>
#include <boost/numeric/odeint/integrate/integrate_const.hpp>
#include <boost/numeric/odeint/stepper/generation.hpp>
#include <boost/numeric/odeint/stepper/runge_kutta_dopri5.hpp>
#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/mtj/constants.hpp"
#include "xbarkit/mtj/steppers.hpp"

namespace odeint = boost::numeric::odeint;

namespace xbarkit::mtj {

namespace {

double thermal_strength(const Device& d) {
  return std::sqrt(2.0 * d.alpha * phys::kB * d.temperature_K /
                   (phys::mu0 * phys::gamma0 * d.ms_A_per_m * derive(d).volume_m3));
}

}  // namespace

Vec3 integrate_on_sphere(const LlgSystem& sys, Vec3 m, double t0, double t1, double dt0,
                         const std::function<void(const Vec3&, double)>& observer) {
  // Odeint's error-controlled Dormand-Prince 5(4) (rtol = atol = 1e-10), with m projected back onto
  // the unit sphere after every accepted step. The LLG flow preserves |m| exactly, but an explicit
  // Runge-Kutta step does not: its error is controlled only relative to the tolerances, and in the
  // anti-damping regime the drift of |m| feeds back through the m (m.Y) term until |m| collapses.
  // Projection after each step keeps the scheme's order (Hairer, Lubich & Wanner, Geometric Numerical
  // Integration, 2nd ed., Sec. IV.4, "projection methods"). The FSAL derivative is recomputed at the
  // projected point, so the next step starts from a consistent state.
  auto stepper = odeint::make_controlled(1e-10, 1e-10, odeint::runge_kutta_dopri5<Vec3>());
  normalize(m);
  Vec3 dmdt;
  sys(m, dmdt, t0);
  double t = t0, dt = std::max(dt0, 1e-18);
  uint64_t accepted = 0, tries = 0;
  constexpr uint64_t kMaxTries = 2'000'000'000ULL;  // about an hour of steps: a stalled step size
  while (t < t1) {
    const bool last = t + dt >= t1;
    double h = last ? t1 - t : dt;
    const double h_tried = h;
    if (stepper.try_step(std::cref(sys), m, dmdt, t, h) == odeint::success) {
      normalize(m);
      sys(m, dmdt, t);
      if (last) t = t1;  // avoid a tail step of rounding size
      if (observer) observer(m, t);
      dt = h;  // the controller's proposal for the next step
      if ((++accepted & 1023) == 0) throw_if_stopped("mtj: T = 0 integration");
    } else {
      dt = h;  // the controller shrank the step
      if (!(h < h_tried) || !(h > 0)) throw SolverError("mtj: Dormand-Prince step size collapsed (non-finite state?)");
    }
    if (++tries > kMaxTries) throw SolverError("mtj: T = 0 integration did not finish (step size stalled)");
  }
  return m;
}

namespace {

Vec3 integrate_deterministic(const LlgSystem& sys, Vec3 m, double t0, double t1, double dt0) {
  return integrate_on_sphere(sys, m, t0, t1, dt0, {});
}

// Per-trajectory step budget: 1e10 steps is hours of one core; beyond it dt is a typo (1e-30) and
// the step count would not even fit the integer types the loops use.
constexpr double kMaxStepsPerTrajectory = 1e10;

uint64_t step_count(double t_end, double dt, const std::string& file, const std::string& key) {
  const double n = std::ceil(t_end / dt - 1e-9);
  if (!(n <= kMaxStepsPerTrajectory))
    throw InputError(file, key,
                     fmt::format("time step {:.3g} s needs {:.3g} steps for {:.3g} s of simulated time per "
                                 "trajectory; at most {:.0e} are allowed (use a larger step)",
                                 dt, n, t_end, kMaxStepsPerTrajectory));
  return static_cast<uint64_t>(std::max(1.0, n));
}

// m tilted by `tilt_rad` away from m_eq, about the axis m_eq x e (e = x, or y when m_eq is near x).
Vec3 tilted(const Vec3& m_eq, double tilt_rad) {
  if (tilt_rad == 0) return m_eq;
  const Vec3 ref = std::abs(m_eq[0]) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 e1 = normalized(cross(cross(m_eq, ref), m_eq));  // unit, perpendicular to m_eq, towards ref
  return normalized(std::cos(tilt_rad) * m_eq + std::sin(tilt_rad) * e1);
}

}  // namespace

void check_time_step(const Device& d, double dt_s, double max_current_A, const std::string& key) {
  if (!(dt_s > 0) || !std::isfinite(dt_s))
    throw InputError(d.source_file, key, fmt::format("time step must be > 0, got {}", dt_s));
  const Derived der = derive(d);
  const double h_spin = std::abs(der.h_dl_per_A * max_current_A) * (1 + std::abs(d.hm.field_like_ratio));
  const double h_oe = d.hm.oersted ? std::abs(max_current_A) / (2 * d.hm.width_m) : 0.0;
  const double period = max_precession_period_s(d, h_spin + h_oe);
  if (dt_s > period / 10)
    throw InputError(d.source_file, key,
                     fmt::format("time step {:.3g} s is larger than a tenth of the shortest precession period "
                                 "({:.3g} s at the largest field this run sees); use dt <= {:.3g} s",
                                 dt_s, period, period / 10));
}

double auto_relax_s(const Device& d) {
  const Derived der = derive(d);
  const double gp = phys::gamma0 / (1 + d.alpha * d.alpha);
  const double rate = d.alpha * gp * 0.5 * (der.stiffness1_A_per_m + der.stiffness2_A_per_m);
  return std::clamp(3.0 / rate, 0.5e-9, 20e-9);
}

int auto_initial(const Device& d) {
  // Damping-like torque vector per ampere: SOT along sigma = +y, STT along the reference layer.
  const Derived der = derive(d);
  Vec3 q = Vec3{0, der.h_dl_per_A, 0};
  if (d.stt.polarization > 0 && d.stt.current_ratio != 0)
    q = q + (phys::hbar * d.stt.polarization * d.stt.current_ratio / der.area_m2 /
             (2 * phys::e * phys::mu0 * d.ms_A_per_m * d.thickness_m)) * d.stt.reference;
  const Vec3 u = d.easy_axis_vector();
  const double qn = norm(q);
  if (qn == 0) return 1;
  const double qu = dot(q, u);
  // Collinear torque (type-y, STT): positive current pushes m towards sign(q.u) u.
  if (std::abs(qu) > 0.5 * qn) return qu > 0 ? -1 : 1;
  // Orthogonal torque (type-z, type-x): positive current rotates m from u towards w = u x q; a bias
  // along +w assists that path (Lee et al. 2013), so the switchable well is sign(H.w) u.
  const Vec3 w = cross(u, (1.0 / qn) * q);
  const double hw = dot(d.h_ext_A_per_m, w);
  return hw < 0 ? -1 : 1;
}

Vec3 equilibrium(const Device& d, int sign) {
  const LlgSystem sys(d, Pulse{0, 1e-9, 0, 0});
  Vec3 m = (sign >= 0 ? 1.0 : -1.0) * d.easy_axis_vector();
  const Derived der = derive(d);
  const double gp = phys::gamma0 / (1 + d.alpha * d.alpha);
  const double tau = 1.0 / (d.alpha * gp * der.hk_eff_A_per_m);
  return integrate_deterministic(sys, m, 0, 40 * tau, 1e-13);
}

Vec3 sample_thermal(const Device& d, const Vec3& m_eq, Rng& rng) {
  if (d.temperature_K <= 0) return m_eq;
  // Tangent basis.
  const Vec3 ref = std::abs(m_eq[0]) < 0.9 ? Vec3{1, 0, 0} : Vec3{0, 1, 0};
  const Vec3 e1 = normalized(cross(m_eq, ref));
  const Vec3 e2 = cross(m_eq, e1);
  // Energy density eps(m) = -mu0 Ms [Hk (m.u)^2/2 - Ms m.N.m/2 + H_ext.m]. Its Hessian on the sphere
  // at m is P (grad^2 eps) P + mu0 Ms (m . H_eff) I.
  const LlgSystem sys(d, Pulse{0, 1e-9, 0, 0});
  const Vec3 heff = sys.field(m_eq, 0.0);
  const double c = phys::mu0 * d.ms_A_per_m;
  auto hess = [&](const Vec3& a, const Vec3& b) {
    double s = 0;
    for (int i = 0; i < 3; ++i) s += a[i] * b[i] * d.ms_A_per_m * d.demag[i];
    s -= d.hk_A_per_m * a[d.easy_axis] * b[d.easy_axis];
    return c * s;
  };
  const double diag = c * dot(m_eq, heff);
  const double k11 = hess(e1, e1) + diag, k12 = hess(e1, e2), k22 = hess(e2, e2) + diag;
  const double det = k11 * k22 - k12 * k12;
  if (!(k11 > 0 && det > 0)) return m_eq;  // not a minimum: nothing sensible to sample
  // Covariance kT/V K^-1; Cholesky of K^-1 = [[k22, -k12], [-k12, k11]] / det.
  const double kt_v = phys::kB * d.temperature_K / derive(d).volume_m3;
  const double c11 = kt_v * k22 / det, c12 = -kt_v * k12 / det, c22 = kt_v * k11 / det;
  const double l11 = std::sqrt(c11), l21 = c12 / l11, l22 = std::sqrt(std::max(0.0, c22 - l21 * l21));
  const double z1 = rng.normal(), z2 = rng.normal();
  const double a = l11 * z1, b = l21 * z1 + l22 * z2;
  return normalized(m_eq + a * e1 + b * e2);
}

LogisticFit fit_logistic(const std::vector<PswPoint>& points) {
  LogisticFit fit;
  std::vector<const PswPoint*> pts;
  for (const auto& p : points)
    if (p.trials > 0) pts.push_back(&p);
  if (pts.size() < 2) {
    fit.note = "fewer than two currents";
    return fit;
  }
  bool any_mid = false, any0 = false, any1 = false;
  double mean = 0;
  for (auto* p : pts) {
    mean += p->current_A;
    any0 |= p->switched < p->trials;
    any1 |= p->switched > 0;
    any_mid |= p->switched > 0 && p->switched < p->trials;
  }
  mean /= pts.size();
  double sd = 0;
  for (auto* p : pts) sd += (p->current_A - mean) * (p->current_A - mean);
  sd = std::sqrt(sd / pts.size());
  if (!(sd > 0)) {
    fit.note = "all currents equal";
    return fit;
  }
  if (!any0 || !any1) {
    fit.note = any1 ? "every current always switched: lower the currents" : "no current ever switched: raise the currents";
    return fit;
  }
  // Newton-Raphson on the binomial log-likelihood in x = (I - mean)/sd, p = 1/(1+exp(-(b0 + b1 x))).
  double b0 = 0, b1 = 1;
  double i00 = 0, i01 = 0, i11 = 0;
  bool converged = false;
  for (int iter = 0; iter < 200; ++iter) {
    double g0 = 0, g1 = 0;
    i00 = i01 = i11 = 0;
    for (auto* p : pts) {
      const double x = (p->current_A - mean) / sd;
      const double pr = 1.0 / (1.0 + std::exp(-(b0 + b1 * x)));
      const double n = p->trials, k = p->switched;
      g0 += k - n * pr;
      g1 += (k - n * pr) * x;
      const double w = n * pr * (1 - pr);
      i00 += w;
      i01 += w * x;
      i11 += w * x * x;
    }
    const double det = i00 * i11 - i01 * i01;
    if (!(det > 0)) break;
    double d0 = (i11 * g0 - i01 * g1) / det, d1 = (-i01 * g0 + i00 * g1) / det;
    const double step = std::max(std::abs(d0), std::abs(d1));
    if (step > 5) {  // damp wild steps
      d0 *= 5 / step;
      d1 *= 5 / step;
    }
    b0 += d0;
    b1 += d1;
    if (std::abs(b1) > 1e4) break;  // separation: the MLE runs off to a step function
    if (step < 1e-12) {
      converged = true;
      break;
    }
  }
  if (!converged) {
    fit.note = any_mid ? "logistic fit did not converge" : "data perfectly separated (a step): add currents inside the transition or more trials";
    fit.i50_A = mean - sd * b0 / b1;
    fit.scale_A = sd / b1;
    return fit;
  }
  // Recompute the information at the optimum.
  i00 = i01 = i11 = 0;
  double chi2 = 0;
  for (auto* p : pts) {
    const double x = (p->current_A - mean) / sd;
    const double pr = 1.0 / (1.0 + std::exp(-(b0 + b1 * x)));
    const double n = p->trials, k = p->switched;
    const double w = n * pr * (1 - pr);
    i00 += w;
    i01 += w * x;
    i11 += w * x * x;
    if (w > 0) chi2 += (k - n * pr) * (k - n * pr) / w;
  }
  const double det = i00 * i11 - i01 * i01;
  const double c00 = i11 / det, c01 = -i01 / det, c11 = i00 / det;
  const double x50 = -b0 / b1;
  const double gx0 = -1 / b1, gx1 = b0 / (b1 * b1);
  const double var_x50 = gx0 * gx0 * c00 + 2 * gx0 * gx1 * c01 + gx1 * gx1 * c11;
  const double var_s = c11 / (b1 * b1 * b1 * b1);
  fit.i50_A = mean + sd * x50;
  fit.scale_A = sd / b1;
  fit.i50_err_A = sd * std::sqrt(std::max(0.0, var_x50));
  fit.scale_err_A = sd * std::sqrt(std::max(0.0, var_s));
  fit.chi2_per_dof = pts.size() > 2 ? chi2 / (pts.size() - 2) : NAN;
  fit.ok = true;
  return fit;
}

PswResult switching_probability(const Device& d, const PswRequest& req, const Progress& progress) {
  const std::string& f = d.source_file;
  if (req.currents_A.empty()) throw InputError(f, "currents", "no currents given");
  double imax = 0;
  for (double i : req.currents_A) {
    if (!std::isfinite(i)) throw InputError(f, "currents", "currents must be finite");
    imax = std::max(imax, std::abs(i));
  }
  if (!(req.pulse_s > 0)) throw InputError(f, "pulse", fmt::format("pulse width must be > 0, got {}", req.pulse_s));
  if (!(req.rise_s >= 0 && req.fall_s >= 0)) throw InputError(f, "rise/fall", "rise and fall times must be >= 0");
  if (req.pulse_s < 0.5 * (req.rise_s + req.fall_s))
    throw InputError(f, "pulse", fmt::format("pulse width (FWHM) {:.3g} s is shorter than (rise + fall)/2", req.pulse_s));
  if (req.trials < 1) throw InputError(f, "trials", fmt::format("need at least 1 trial, got {}", req.trials));
  if (!std::isfinite(req.tilt_rad) || std::abs(req.tilt_rad) > 3.14159266)
    throw InputError(f, "tilt", fmt::format("initial tilt must be within [-pi, pi] rad, got {}", req.tilt_rad));
  // One outcome byte and one first-passage time per trajectory are kept.
  const double trajectories = static_cast<double>(req.currents_A.size()) * req.trials;
  if (trajectories > 1e8)
    throw InputError(f, "trials", fmt::format("{} currents x {} trials = {:.3g} trajectories; at most 1e8 per run "
                                              "(their outcomes alone need {:.3g} GB)",
                                              req.currents_A.size(), req.trials, trajectories, trajectories * 9 / 1e9));
  if (req.relax_s < 0) throw InputError(f, "relax", "relaxation time must be >= 0");
  check_time_step(d, req.dt_s, imax, req.dt_key);

  PswResult res;
  res.dt_s = req.dt_s;
  res.relax_s = req.relax_s > 0 ? req.relax_s : auto_relax_s(d);
  res.initial = req.initial != 0 ? (req.initial > 0 ? 1 : -1) : auto_initial(d);
  const Vec3 m_eq = equilibrium(d, res.initial);
  const Vec3 m_start = tilted(m_eq, req.tilt_rad);
  const int u = d.easy_axis;
  const size_t nc = req.currents_A.size(), nt = static_cast<size_t>(req.trials);
  std::vector<uint8_t> switched(nc * nt, 0);
  std::vector<double> passage(nc * nt, NAN);
  res.m_start = m_start;
  res.threads = req.threads == 0 ? default_threads() : req.threads;
  const auto t_start = std::chrono::steady_clock::now();

  if (d.temperature_K <= 0) {
    // Deterministic: one Dormand-Prince trajectory per current.
    for (size_t k = 0; k < nc; ++k) {
      const Pulse pulse{req.currents_A[k], req.pulse_s, req.rise_s, req.fall_s};
      const LlgSystem sys(d, pulse);
      double first = NAN, t_prev = 0, c_prev = m_start[u] * res.initial;
      const Vec3 m = integrate_on_sphere(sys, m_start, 0, pulse.end_s() + res.relax_s, req.dt_s,
                                         [&](const Vec3& mm, double t) {
                                           const double c = mm[u] * res.initial;
                                           // first crossing of the hard plane m.u = 0, linearly interpolated
                                           if (std::isnan(first) && c < 0 && c_prev >= 0)
                                             first = t_prev + (t - t_prev) * c_prev / (c_prev - c);
                                           t_prev = t;
                                           c_prev = c;
                                         });
      const bool sw = m[u] * res.initial < 0;
      std::fill(switched.begin() + k * nt, switched.begin() + (k + 1) * nt, sw);
      std::fill(passage.begin() + k * nt, passage.begin() + (k + 1) * nt, first);
      if (progress) progress((k + 1) * nt, nc * nt);
    }
  } else {
    const double strength = thermal_strength(d);
    const Pulse proto{0, req.pulse_s, req.rise_s, req.fall_s};
    const double t_end = proto.end_s() + res.relax_s;
    const uint64_t n_steps = step_count(t_end, req.dt_s, f, req.dt_key);
    if (static_cast<double>(n_steps) * static_cast<double>(nc * nt) > 1e18)
      throw InputError(f, req.dt_key, fmt::format("{} steps x {} trajectories is beyond any run's reach", n_steps, nc * nt));
    res.steps = n_steps * nc * nt;
    std::vector<LlgSystem> systems;
    systems.reserve(nc);
    for (double i : req.currents_A) systems.emplace_back(d, Pulse{i, req.pulse_s, req.rise_s, req.fall_s});
    std::mutex progress_mutex;
    std::atomic<size_t> done{0};
    const size_t chunk = 8;
    const StochasticHeun stepper;
    parallel_for(
        nc * nt, req.threads,
        [&](size_t idx) {
          const size_t k = idx / nt, j = idx % nt;
          Rng rng(derive_seed(req.seed, k), j);
          Vec3 m = req.thermal_initial ? sample_thermal(d, m_start, rng) : m_start;
          ThermalField noise(strength, rng, req.noise_substeps);
          const LlgSystem& sys = systems[k];
          const auto system = std::make_pair(std::cref(sys), std::ref(noise));
          double t = 0, first = NAN;
          for (uint64_t s = 0; s < n_steps; ++s) {
            stepper.do_step(system, m, t, req.dt_s);
            t = static_cast<double>(s + 1) * req.dt_s;
            if (std::isnan(first) && m[u] * res.initial < 0) first = t;
            if ((s & 4095) == 4095) throw_if_stopped("mtj: switching Monte Carlo");
          }
          switched[idx] = m[u] * res.initial < 0;
          passage[idx] = first;
          if (progress) {
            const size_t n = done.fetch_add(1) + 1;
            if (n % 64 == 0 || n == nc * nt) {
              std::lock_guard<std::mutex> lock(progress_mutex);
              progress(n, nc * nt);
            }
          }
        },
        chunk);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  for (size_t k = 0; k < nc; ++k) {
    PswPoint p;
    p.current_A = req.currents_A[k];
    p.trials = req.trials;
    for (size_t j = 0; j < nt; ++j) p.switched += switched[k * nt + j];
    p.p_switch = static_cast<double>(p.switched) / p.trials;
    p.stderr_ = std::sqrt(p.p_switch * (1 - p.p_switch) / p.trials);
    double sum = 0;
    int n = 0;
    for (size_t j = 0; j < nt; ++j)
      if (!std::isnan(passage[k * nt + j])) {
        sum += passage[k * nt + j];
        ++n;
      }
    p.crossed = n;
    p.mean_first_passage_s = n > 0 ? sum / n : NAN;
    res.points.push_back(p);
  }
  res.fit = fit_logistic(res.points);
  res.outcomes = std::move(switched);
  res.first_passage_s = std::move(passage);
  return res;
}

TraceResult trace(const Device& d, const TraceRequest& req) {
  const std::string& f = d.source_file;
  if (!(req.pulse_s > 0)) throw InputError(f, "pulse", "pulse width must be > 0");
  if (req.pulse_s < 0.5 * (req.rise_s + req.fall_s))
    throw InputError(f, "pulse", "pulse width (FWHM) is shorter than (rise + fall)/2");
  check_time_step(d, req.dt_s, std::abs(req.current_A), req.dt_key);
  TraceResult out;
  out.initial = req.initial != 0 ? (req.initial > 0 ? 1 : -1) : auto_initial(d);
  const double relax = req.relax_s > 0 ? req.relax_s : auto_relax_s(d);
  const Pulse pulse{req.current_A, req.pulse_s, req.rise_s, req.fall_s};
  const LlgSystem sys(d, pulse);
  const double t_end = pulse.end_s() + relax;
  if (!std::isfinite(req.tilt_rad) || std::abs(req.tilt_rad) > 3.14159266)
    throw InputError(f, "tilt", fmt::format("initial tilt must be within [-pi, pi] rad, got {}", req.tilt_rad));
  const Vec3 m_eq = tilted(equilibrium(d, out.initial), req.tilt_rad);
  double sample = req.sample_s > 0 ? req.sample_s : std::max(req.dt_s, t_end / 2000);
  if (!(sample > 0) || t_end / sample > 1e7)
    throw InputError(f, "sample", fmt::format("output interval {:.3g} s gives more than 1e7 samples", sample));
  const int u = d.easy_axis;
  double c_prev = m_eq[u] * out.initial, t_prev = 0;
  auto record = [&](const Vec3& m, double t) {
    out.samples.push_back({t, m, req.current_A * pulse.shape(t)});
  };
  // First crossing of m.u = 0 (linear interpolation between steps).
  auto watch = [&](const Vec3& m, double t) {
    const double c = m[u] * out.initial;
    if (std::isnan(out.first_passage_s) && c < 0 && c_prev >= 0)
      out.first_passage_s = t_prev + (t - t_prev) * c_prev / (c_prev - c);
    c_prev = c;
    t_prev = t;
  };
  Vec3 m = m_eq;
  if (d.temperature_K <= 0) {
    out.stepper = "runge_kutta_dopri5 (Boost.Odeint, rtol = atol = 1e-10, projected onto |m| = 1 each step)";
    record(m, 0);
    const uint64_t n_samples = static_cast<uint64_t>(std::ceil(t_end / sample - 1e-9));
    for (uint64_t k = 0; k < n_samples; ++k) {
      const double ta = static_cast<double>(k) * sample, tb = std::min(t_end, static_cast<double>(k + 1) * sample);
      m = integrate_on_sphere(sys, m, ta, tb, req.dt_s, watch);
      record(m, tb);
    }
  } else {
    out.stepper = "stochastic Heun (Stratonovich), dt = " + fmt::format("{:g}", req.dt_s) + " s";
    Rng rng(derive_seed(req.seed, 0), 0);
    if (req.thermal_initial) m = sample_thermal(d, m_eq, rng);
    ThermalField noise(std::sqrt(2.0 * d.alpha * phys::kB * d.temperature_K /
                                 (phys::mu0 * phys::gamma0 * d.ms_A_per_m * derive(d).volume_m3)),
                       rng);
    const StochasticHeun stepper;
    const auto system = std::make_pair(std::cref(sys), std::ref(noise));
    const uint64_t n_steps = step_count(t_end, req.dt_s, f, req.dt_key);
    const uint64_t every = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(sample / req.dt_s)));
    record(m, 0);
    for (uint64_t s = 0; s < n_steps; ++s) {
      stepper.do_step(system, m, s * req.dt_s, req.dt_s);
      watch(m, (s + 1) * req.dt_s);
      if ((s & 4095) == 4095) throw_if_stopped("mtj trace");
      if ((s + 1) % every == 0 || s + 1 == n_steps) record(m, (s + 1) * req.dt_s);
    }
  }
  out.switched = out.samples.back().m[d.easy_axis] * out.initial < 0;
  return out;
}

}  // namespace xbarkit::mtj
