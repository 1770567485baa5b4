// Speed of the SOT-MTJ macrospin solver (issue 4), for docs/PERFORMANCE.md:
//   1. stochastic Heun steps per second on one core (tight loop, thermal field drawn every step);
//   2. a 20-current x 1000-trial P_sw curve of 10 ns pulses at 1 ps steps on all cores.
// Usage: bench_mtj_heun [device] [threads]   (device default: sot_imtj_typey)
#include <chrono>
#include <ctime>
#include <cstdio>
#include <string>

#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/steppers.hpp"
#include "xbarkit/mtj/switching.hpp"

using namespace xbarkit::mtj;

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "sot_imtj_typey";
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
    // Wall time and this thread's CPU time: on a shared machine the CPU-time rate is the per-core speed.
    timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    const auto t0 = std::chrono::steady_clock::now();
    for (long s = 0; s < n; ++s) stepper.do_step(system, m, s * dt, dt);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    const double cpu = (c1.tv_sec - c0.tv_sec) + 1e-9 * (c1.tv_nsec - c0.tv_nsec);
    std::printf("heun_steps_per_s_one_core wall %.4g  cpu %.4g  (%ld steps: %.3f s wall, %.3f s cpu; final m.u %.3f)\n",
                n / sec, n / cpu, n, sec, cpu, m[d.easy_axis]);
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
    const std::clock_t c0 = std::clock();
    const auto r = switching_probability(d, req);
    const double cpu = double(std::clock() - c0) / CLOCKS_PER_SEC;
    std::printf("psw_20x1000_10ns_1ps wall %.3f s  cpu %.3f s  threads %u  steps %.4g  steps/s wall %.4g  cpu %.4g  relax %.3g s\n",
                r.seconds, cpu, r.threads, double(r.steps), r.steps / r.seconds, r.steps / cpu, r.relax_s);
    std::printf("fit i50 %.6g A +- %.2g  scale %.4g A  chi2/dof %.3g  (%s)\n", r.fit.i50_A, r.fit.i50_err_A,
                r.fit.scale_A, r.fit.chi2_per_dof, r.fit.ok ? "ok" : r.fit.note.c_str());
  }
  return 0;
}
