// ngspice time and peak memory per operating point, per cell kind and array size.
// Each deck runs in a fresh worker process so its peak resident memory is its own.
//   build/bench/bench_spice_op [sizes...]     (default: 16 32 64)
#include <algorithm>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/recipe.hpp"
#include "xbarkit/spice/crossbar_op.hpp"
#include "xbarkit/spice/worker_pool.hpp"

using namespace xbarkit;

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {16, 32, 64};
  const auto tech = netlist::load_technology("7nm");
  spice::WorkerPool pool(1, 1);

  // Resident memory of a worker that loaded ngspice and ran a trivial deck: the baseline.
  const auto idle = pool.run({{"idle\nV1 a 0 1\nR1 a 0 1\n.op\n.end\n", {"v1#branch"}}}).at(0);
  fmt::print("idle ngspice worker: peak RSS {:.1f} MiB\n\n", idle.peak_rss_kB / 1024.0);
  fmt::print("| cell | array | deck lines | ngspice op wall (s) | load+op CPU (s) | peak RSS (MiB) |\n");
  fmt::print("|---|---|---|---|---|---|\n");
  for (auto kind : {"passive", "rram1t1r", "sram8t"}) {
    for (int n : sizes) {
      auto x = netlist::make_crossbar(tech, kind, n, n);
      netlist::fill_random_inputs(x, 0.5, 1);
      netlist::fill_random_weights(x, 0.5, 1);
      const auto job = spice::crossbar_job(x);
      const auto lines = std::count(job.deck.begin(), job.deck.end(), '\n');
      const auto r = pool.run({job}).at(0);
      if (!r.ok) {
        fmt::print("| {} | {}x{} | {} | failed: {} | |\n", kind, n, n, lines, r.error);
        continue;
      }
      fmt::print("| {} | {}x{} | {} | {:.3f} | {:.3f} | {:.1f} |\n", kind, n, n, lines, r.elapsed_s,
                 r.cpu_s, r.peak_rss_kB / 1024.0);
      std::fflush(stdout);
    }
  }
}
