// Speed of the SOT-MTJ macrospin solver (issue 4), for docs/PERFORMANCE.md:
//   1. stochastic Heun steps per second on one core (tight loop, thermal field drawn every step);
//   2. a 20-current x 1000-trial P_sw curve of 10 ns pulses at 1 ps steps on all cores.
// Usage: bench_mtj_heun [device] [threads]   (device default: sot_pma_7nm)
#include <chrono>
#include <cstdio>
#include <string>

#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/steppers.hpp"
#include "xbarkit/mtj/switching.hpp"

using namespace xbarkit::mtj;

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "sot_pma_7nm";
  const unsigned threads = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 0;
  const Device d = load_device(name);
  const Derived der = derive(d);

  // 1. Single-core step rate under a flat-top current near I50.
  {
    const double dt = 1e-12;
    const LlgSystem sys(d, Pulse{der.ic0_A, 1e-6, 20e-12, 20e-12});
    ThermalField noise(thermal_sigma(d, dt) * std::sqrt(dt), xbarkit::Rng(1, 0));
    const StochasticHeun stepper;
    const auto system = std::make_pair(std::cref(sys), std::ref(noise));
    Vec3 m = equilibrium(d, auto_initial(d));
    const long n = 20'000'000;
    const auto t0 = std::chrono::steady_clock::now();
    for (long s = 0; s < n; ++s) stepper.do_step(system, m, s * dt, dt);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("heun_steps_per_s_one_core %.4g  (%ld steps in %.3f s; final mz %.3f)\n", n / sec, n, sec, m[2]);
  }
  // 2. P_sw curve: 20 currents x 1000 trials, 10 ns pulses, dt 1 ps.
  {
    PswRequest req;
    for (int k = 0; k < 20; ++k) req.currents_A.push_back(der.ic0_A * (0.6 + 0.04 * k));
    req.pulse_s = 10e-9;
    req.trials = 1000;
    req.seed = 1;
    req.threads = threads;
    req.dt_s = 1e-12;
    const auto r = switching_probability(d, req);
    std::printf("psw_20x1000_10ns_1ps_seconds %.3f  threads %u  steps %.4g  steps_per_s %.4g  relax %.3g s\n",
                r.seconds, r.threads, double(r.steps), r.steps / r.seconds, r.relax_s);
    std::printf("fit i50 %.6g A +- %.2g  scale %.4g A  chi2/dof %.3g  (%s)\n", r.fit.i50_A, r.fit.i50_err_A,
                r.fit.scale_A, r.fit.chi2_per_dof, r.fit.ok ? "ok" : r.fit.note.c_str());
  }
  return 0;
}
