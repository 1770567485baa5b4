#pragma once
// Characterizations reused while nothing they depend on changed: a bundle is cached in
// CACHE/<kind>-<key>, key = first 16 hex digits of SHA-256 over the recipe text, the xbarkit version
// and every model file's path and SHA-256. A cached bundle is verified (every file's hash) before it
// is reused; an unusable one is characterized again; an interrupted run is resumed.
#include <filesystem>
#include <ostream>

#include "xbarkit/core/progress.hpp"

namespace xbarkit::characterize {

struct CachedBundle {
  std::filesystem::path dir;
  bool reused = false;
};

// Progress lines go to `log`; `progress` is the runner's per-point progress on stderr.
CachedBundle cached_characterization(const std::filesystem::path& recipe, const std::filesystem::path& cache_dir,
                                     unsigned threads, std::ostream& log,
                                     ProgressMode progress = ProgressMode::automatic);

}  // namespace xbarkit::characterize
