// Benchmark: wall time of a characterization recipe (default: the shipped 7nm array_ps recipe) and the
// validation it records, for docs/PERFORMANCE.md and docs/VALIDATION.md.
//   build-lut/bench/bench_characterize_array_ps [RECIPE] [OUTPUT_DIR] [THREADS]
#include <chrono>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/lut/bundle.hpp"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const fs::path recipe = argc > 1 ? fs::path(argv[1]) : xbarkit::source_dir() / "characterization" / "array_ps_7nm.toml";
  const fs::path out = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path() / "xbarkit_bench_array_ps";
  xbarkit::characterize::RunOptions opt;
  opt.output = out;
  opt.force = true;
  opt.threads = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3])) : 0;
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const auto s = xbarkit::characterize::run_characterization(recipe, opt);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto b = xbarkit::lut::load_bundle(out);
    std::cout << fmt::format("recipe {}\nthreads {} (hardware {})\npoints {} (failed {})\nwall time {:.1f} s\n",
                             recipe.string(), opt.threads == 0 ? xbarkit::default_threads() : opt.threads,
                             xbarkit::default_threads(), s.points, s.failed, wall);
    std::cout << "| table | rows | wire x | FS (uA) | held-out NRMSE (% FS) | coverage 2 sigma | ideal-model error (% FS) | "
                 "ngspice: patterns, NRMSE (% FS), coverage, native-vs-ngspice max |diff| (% FS) |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& c : b.validation.at("configs")) {
      if (!c.contains("held_out")) continue;
      const auto& h = c["held_out"];
      std::string sp = "-";
      if (c.contains("spice")) {
        const auto& p = c["spice"];
        sp = fmt::format("{}, {:.3f}, {:.3f}, {:.2e}", p["patterns"].get<int>(), 100 * p["nrmse_mean"].get<double>(),
                         p["coverage_2sigma"].get<double>(), 100 * p["native_vs_ngspice_max_abs_fs"].get<double>());
      }
      std::cout << fmt::format("| {} | {} | {} | {:.1f} | {:.3f} | {:.3f} | {:.1f} | {} |\n", c["table"].get<std::string>(),
                               c["rows"].get<int>(), c["wire_scale"].get<double>(), 1e6 * c["full_scale_A"].get<double>(),
                               100 * h["nrmse_mean"].get<double>(), h["coverage_2sigma"].get<double>(),
                               100 * h["ideal_nrmse"].get<double>(), sp);
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
