#pragma once
// Characterization recipes and the registry of characterization kinds.
//
// A recipe is TOML with one common table and one table named after its kind:
//
//   [characterize]
//   kind = "array_ps"        # array_ps | adc | mtj_psw | cell_iv | cbram_psw (see each kind_*.cpp for its table)
//   seed = 1                 # every random draw derives from (seed, point) streams
//   threads = 0              # worker threads / ngspice processes; 0 = all cores
//   job_timeout_s = 7200     # SPICE points: a worker running one point longer is killed, the point fails
//   description = "..."      # optional, copied into the bundle
//   [array_ps]               # the kind's own keys; unknown keys are errors
//
// Kinds register themselves (Gnucap-style plugins): adding a kind touches only its own file.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/spice/worker_pool.hpp"

namespace xbarkit::characterize {

struct Recipe {
  std::filesystem::path file;       // as given
  std::filesystem::path base_dir;   // relative paths inside the recipe resolve here
  std::string text;
  std::string sha256;
  std::string kind;
  std::string description;
  uint64_t seed = 1;
  unsigned threads = 0;
  double job_timeout_s = 7200;  // spice::kDefaultJobTimeout_s
};

// One unit of work. Results must depend only on the recipe and the point's index, never on which
// thread ran it or in which order, so an interrupted and resumed sweep equals an uninterrupted one.
struct Point {
  enum class Engine { thread, spice };
  std::string id;   // human-readable and unique, e.g. "sram8t_r128_w1/train/3"
  Engine engine = Engine::thread;
};

struct PointResult {
  bool done = false;       // has a result (ok or failed)
  bool ok = false;
  nlohmann::json data;     // when ok
  std::string error;       // when failed
};

class Kind {
public:
  virtual ~Kind() = default;
  virtual const std::vector<Point>& points() const = 0;
  // Thread points: compute point i. Must be thread-safe; throw xbarkit::Error to fail the point.
  virtual nlohmann::json run(size_t i) const;
  // SPICE points: the job for worker processes, and the decoding of its result.
  virtual spice::SpiceJob spice_job(size_t i) const;
  virtual nlohmann::json decode_spice(size_t i, const spice::SpiceJobResult& result) const;
  // Builds the bundle from every point's result (failed points have ok == false; the runner lists
  // them in bundle.failures and adds provenance, recipe and journal afterwards).
  virtual lut::Bundle assemble(const std::vector<PointResult>& results) const = 0;
  // Model files the results depend on (hashed into the provenance).
  virtual std::vector<std::filesystem::path> model_files() const { return {}; }
  // Which engine(s) produce the samples, for the provenance ("native", "ngspice 39", "llg", ...).
  virtual std::string engine() const = 0;
};

using KindFactory = std::function<std::unique_ptr<Kind>(const Recipe& recipe, const TomlSection& section)>;

struct RegisterKind {
  RegisterKind(std::string name, KindFactory factory);
};
std::vector<std::string> kind_names();

struct LoadedRecipe {
  Recipe recipe;
  std::unique_ptr<Kind> kind;
};

// Parses the recipe, builds its kind (which reads and validates its own table) and rejects unknown
// keys anywhere. Errors name the file and the key.
LoadedRecipe load_recipe(const std::filesystem::path& path);
LoadedRecipe parse_recipe(const std::string& text, const std::string& source_name, const std::filesystem::path& base_dir);

// Helpers for kinds reading their tables.
std::vector<double> require_increasing(const TomlSection& s, std::string_view key, std::vector<double> values);
std::vector<int64_t> integer_list(const TomlSection& s, std::string_view key);  // integer or array of integers
std::filesystem::path resolve_path(const Recipe& recipe, const std::string& p);

// Models dir-relative display of a path (provenance): relative to the source tree when inside it.
std::string display_path(const std::filesystem::path& p);

}  // namespace xbarkit::characterize
