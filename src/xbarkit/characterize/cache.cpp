#include "xbarkit/characterize/cache.hpp"

#include <fmt/format.h>

#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/characterize/runner.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::characterize {

namespace fs = std::filesystem;

CachedBundle cached_characterization(const fs::path& recipe, const fs::path& cache_dir, unsigned threads,
                                     std::ostream& log, ProgressMode progress) {
  const auto loaded = load_recipe(recipe);
  std::string key = loaded.recipe.sha256 + "\n" + XBARKIT_VERSION + "\n";
  for (const auto& f : loaded.kind->model_files()) key += display_path(f) + " " + sha256_hex(read_text_file(f)) + "\n";
  const fs::path dir = cache_dir / (loaded.recipe.kind + "-" + sha256_hex(key).substr(0, 16));
  if (fs::exists(dir / "lut.json")) {
    try {
      (void)lut::load_bundle(dir);  // verifies every file's SHA-256
      log << fmt::format("characterization: reusing {} (recipe {} and its model files unchanged)\n", dir.string(),
                         recipe.string());
      return {dir, true};
    } catch (const Error& e) {
      log << fmt::format("characterization: cached bundle {} is unusable ({}); characterizing again\n", dir.string(),
                         e.what());
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec) throw InputError(dir.string(), "", fmt::format("cannot remove the unusable cached bundle: {}", ec.message()));
    }
  }
  RunOptions ro;
  ro.output = dir;
  ro.threads = threads;
  ro.progress = progress;
  ro.resume = fs::exists(dir / "journal.jsonl");
  log << fmt::format("characterization: {} -> {}{}\n", recipe.string(), dir.string(),
                     ro.resume ? " (resuming an interrupted run)" : "");
  log.flush();
  const auto s = run_characterization(recipe, ro);
  log << fmt::format("characterization: {} points in {:.1f} s ({} failed)\n", s.points, s.elapsed_s, s.failed);
  return {dir, false};
}

}  // namespace xbarkit::characterize
