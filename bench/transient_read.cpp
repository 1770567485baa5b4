// Native read transient vs ngspice .tran (issue 19): speed ratio and agreement, one markdown row per
// array, for docs/PERFORMANCE.md and docs/VALIDATION.md.
//
//   bench_transient_read [--kind K]... [--wires default|W]... [--stimulus random|ones]... [--reltol R]
//                        [--points P] [--mvs-deck auxiliary|single] [--header] SIZE...
//
// K: sram8t rram1t1r mram1t1mtj passive (default sram8t); W: default or ohm per segment (default:
// default); stimulus default random (seed 11, density 0.5). Both engines integrate the same circuit
// over the same window (transient::auto_window) (ngspice reltol R, default 1e-6, and TMAX window / P,
// default 200; --mvs-deck: ngspice's MVS formulation, auxiliary nodes (default, the faster up to
// 32x32) or single-source (less matrix fill-in, the faster at 64x64; the same equations, tested in
// tests/transient/test_formulation.cpp); native steps at most window / 100 and samples every step and stage point), in this
// process, one after the other; the native engine on one thread. Times are CPU seconds of this
// process (CLOCK_PROCESS_CPUTIME_ID: both engines run in the calling thread), so the ratio does not
// depend on what else shares the cores; wall seconds and their ratio are printed too (they do depend
// on it). The last column says whether the two engines agree within the 1% in latency and
// energy with both reads settled; the exit status is 1 if any row does not.
#include <cmath>
#include <ctime>
#include <cstdio>
#include <string>
#include <vector>

#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/session.hpp"
#include "xbarkit/transient/read.hpp"

using namespace xbarkit;

static double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int main(int argc, char** argv) {
  std::vector<std::string> kinds, wires, stimuli;
  std::vector<int> sizes;
  bool header = false;
  double reltol = 1e-6;
  int points = 200;
  bool mvs_aux = true;
  for (int a = 1; a < argc; ++a) {
    const std::string s = argv[a];
    auto next = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "bench_transient_read: %s needs a value\n", s.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (s == "--help" || s == "-h") {
      std::printf("usage: bench_transient_read [--kind K]... [--wires default|W]... [--stimulus random|ones]... "
                  "[--reltol R] [--points P] [--mvs-deck auxiliary|single] [--header] SIZE...\n(see the comment at the top of bench/transient_read.cpp)\n");
      return 0;
    }
    const auto number = [&](const std::string& v, auto parse) {
      try {
        size_t used = 0;
        const auto x = parse(v, &used);
        if (used == v.size()) return x;
      } catch (const std::exception&) {
      }
      std::fprintf(stderr, "bench_transient_read: '%s' is not a number (see --help)\n", v.c_str());
      std::exit(2);
    };
    const auto to_d = [](const std::string& v, size_t* u) { return std::stod(v, u); };
    const auto to_i = [](const std::string& v, size_t* u) { return std::stoi(v, u); };
    if (s == "--kind") kinds.push_back(next());
    else if (s == "--wires") wires.push_back(next());
    else if (s == "--stimulus") stimuli.push_back(next());
    else if (s == "--header") header = true;
    else if (s == "--reltol") reltol = number(next(), to_d);
    else if (s == "--points") points = number(next(), to_i);
    else if (s == "--mvs-deck") {
      const auto v = next();
      if (v != "auxiliary" && v != "single") {
        std::fprintf(stderr, "bench_transient_read: --mvs-deck auxiliary | single, got '%s'\n", v.c_str());
        std::exit(2);
      }
      mvs_aux = v == "auxiliary";
    }
    else sizes.push_back(number(s, to_i));
  }
  if (kinds.empty()) kinds = {"sram8t"};
  if (wires.empty()) wires = {"default"};
  if (stimuli.empty()) stimuli = {"random"};
  if (sizes.empty()) sizes = {64};
  if (header) {
    std::printf("| array | wires | stimulus | latency native (ps) | latency ngspice (ps) | diff | energy native (fJ) | "
                "energy ngspice (fJ) | diff | native CPU (s) | ngspice CPU (s) | ratio (CPU) | wall native / ngspice (s) | ratio (wall) | "
                "within 1% |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }
  const auto tech = netlist::load_technology("7nm");
  spice::Session session;
  bool failed = false;
  for (int n : sizes)
    for (const auto& kind : kinds)
      for (const auto& w : wires)
        for (const auto& st : stimuli) {
          auto x = netlist::make_crossbar(tech, kind, n, n);
          if (w != "default") x.parasitics.r_bitline_ohm = x.parasitics.r_sourceline_ohm = x.parasitics.r_wordline_ohm = std::stod(w);
          if (st == "ones") {
            std::fill(x.inputs.begin(), x.inputs.end(), 1);
            std::fill(x.weights.begin(), x.weights.end(), 1);
          } else {
            netlist::fill_random_inputs(x, 0.5, 11);
            netlist::fill_random_weights(x, 0.5, 11);
          }
          transient::ReadOptions o;
          o.window_s = transient::auto_window(x);
          o.threads = 1;
          o.ngspice_reltol = reltol;
          o.output_points = points;
          o.ngspice_mvs_auxiliary_nodes = mvs_aux;
          const double c0 = cpu_s();
          const auto nat = transient::read_native(x, o);
          const double c1 = cpu_s();
          // The native half first, on stderr, so a run stopped during ngspice's read still gives the
          // native numbers and a lower bound on the ratio from one run.
          std::fprintf(stderr, "%s %dx%d %s %s: native latency %.6g s, energy %.6g J, %.4g s CPU; ngspice running\n", kind.c_str(), n,
                       n, w.c_str(), st.c_str(), nat.read_latency_s, nat.read_energy_J, c1 - c0);
          const auto ref = transient::read_ngspice(session, x, o);
          const double c2 = cpu_s();
          const double d_lat = std::abs(nat.read_latency_s - ref.read_latency_s) / ref.read_latency_s;
          const double d_e = std::abs(nat.read_energy_J - ref.read_energy_J) / ref.read_energy_J;
          // The agreement criterion (latency and energy within 1%), and both reads settled.
          const bool ok = nat.all_settled() && ref.all_settled() && d_lat < 0.01 && d_e < 0.01;
          if (!ok) failed = true;
          std::printf("| %s %dx%d | %s | %s | %.4f | %.4f | %.3f%% | %.5g | %.5g | %.3f%% | %.4g | %.4g | %.0fx | %.4g / %.4g | %.0fx | %s |\n",
                      kind.c_str(), n, n, w.c_str(), st.c_str(), 1e12 * nat.read_latency_s, 1e12 * ref.read_latency_s,
                      100 * d_lat, 1e15 * nat.read_energy_J, 1e15 * ref.read_energy_J, 100 * d_e, c1 - c0, c2 - c1,
                      (c2 - c1) / (c1 - c0), nat.elapsed_s, ref.elapsed_s, ref.elapsed_s / nat.elapsed_s, ok ? "yes" : "NO");
          std::fflush(stdout);
        }
  return failed ? 1 : 0;
}
