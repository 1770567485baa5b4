#include "xbarkit/characterize/recipe.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/paths.hpp"

namespace xbarkit::characterize {

// Kinds live in a static library: a kind's object file (and its RegisterKind) is only linked if
// something references it, so each kind file defines one of these and kinds() references them.
void link_kind_adc();
void link_kind_array_ps();
void link_kind_mtj_psw();
void link_kind_cell_iv();
void link_kind_cbram_psw();
void link_kind_array_read();  // issue 19

namespace {
std::map<std::string, KindFactory>& registry() {
  static std::map<std::string, KindFactory> k;
  return k;
}
std::map<std::string, KindFactory>& kinds() {
  static const bool linked = [] {
    link_kind_adc();
    link_kind_array_ps();
    link_kind_mtj_psw();
    link_kind_cell_iv();
    link_kind_cbram_psw();
    link_kind_array_read();
    return true;
  }();
  (void)linked;
  return registry();
}
}  // namespace

RegisterKind::RegisterKind(std::string name, KindFactory factory) { registry()[std::move(name)] = std::move(factory); }

std::vector<std::string> kind_names() {
  std::vector<std::string> out;
  for (const auto& [name, f] : kinds()) out.push_back(name);
  return out;
}

nlohmann::json Kind::run(size_t i) const {
  throw Error(fmt::format("point {} has no thread engine (internal error)", points().at(i).id));
}
spice::SpiceJob Kind::spice_job(size_t i) const {
  throw Error(fmt::format("point {} has no SPICE job (internal error)", points().at(i).id));
}
nlohmann::json Kind::decode_spice(size_t i, const spice::SpiceJobResult&) const {
  throw Error(fmt::format("point {} has no SPICE decoder (internal error)", points().at(i).id));
}

LoadedRecipe parse_recipe(const std::string& text, const std::string& source_name, const std::filesystem::path& base_dir) {
  const auto doc = TomlDocument::from_string(text, source_name);
  const auto root = doc.root();
  LoadedRecipe out;
  Recipe& r = out.recipe;
  r.file = source_name;
  r.base_dir = base_dir;
  r.text = text;
  r.sha256 = sha256_hex(text);
  const auto common = root.require_table("characterize");
  r.kind = common.require_string("kind");
  auto names = kind_names();
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : " | ") + n;
  if (!kinds().count(r.kind))
    throw common.error("kind", fmt::format("unknown characterization kind '{}' (known: {})", r.kind, known));
  const auto seed = common.integer("seed").value_or(1);
  if (seed < 0) throw common.error("seed", "must be >= 0");
  r.seed = static_cast<uint64_t>(seed);
  const auto threads = common.integer("threads").value_or(0);
  if (threads < 0 || threads > 4096) throw common.error("threads", "must be in [0, 4096] (0 = all cores)");
  r.threads = static_cast<unsigned>(threads);
  r.job_timeout_s = common.number("job_timeout_s").value_or(spice::kDefaultJobTimeout_s);
  // At most 30 days: a limit is for hung workers; longer ones are a typo (and overflow poll's ms).
  if (!(r.job_timeout_s > 0 && r.job_timeout_s <= 30 * 86400.0))
    throw common.error("job_timeout_s", fmt::format("must be in (0, 2592000] seconds, got {}", r.job_timeout_s));
  r.description = common.string("description").value_or("");
  common.reject_unknown_keys();
  for (const auto& key : root.keys())
    if (key != "characterize" && key != r.kind && kinds().count(key))
      throw root.error(key, fmt::format("belongs to kind '{}', but this recipe's kind is '{}'", key, r.kind));
  const auto section = root.require_table(r.kind);
  out.kind = kinds().at(r.kind)(r, section);
  section.reject_unknown_keys();
  root.reject_unknown_keys();
  if (out.kind->points().empty()) throw common.error("kind", "the recipe describes no sweep points");
  return out;
}

LoadedRecipe load_recipe(const std::filesystem::path& path) {
  return parse_recipe(read_text_file(path), path.string(), path.parent_path());
}

std::vector<double> require_increasing(const TomlSection& s, std::string_view key, std::vector<double> values) {
  if (values.empty()) throw s.error(key, "needs at least one value");
  for (size_t i = 1; i < values.size(); ++i)
    if (!(values[i] > values[i - 1]))
      throw s.error(key, fmt::format("points must be strictly increasing, but element {} ({}) follows {}", i,
                                     values[i], values[i - 1]));
  return values;
}

std::vector<int64_t> integer_list(const TomlSection& s, std::string_view key) {
  if (!s.has(key)) return {};
  const auto* node = s.raw()->get(key);
  if (node->is_integer()) return {*s.integer(key)};
  const auto v = s.number_array(key);
  std::vector<int64_t> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const double d = (*v)[i];
    if (d != static_cast<double>(static_cast<int64_t>(d)))
      throw s.error(key, fmt::format("element {} ({}) is not an integer", i, d));
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

std::filesystem::path resolve_path(const Recipe& recipe, const std::string& p) {
  std::filesystem::path path = p;
  if (path.is_relative()) path = recipe.base_dir / path;
  return path.lexically_normal();
}

std::string display_path(const std::filesystem::path& p) {
  std::error_code ec;
  const auto abs = std::filesystem::weakly_canonical(p, ec);
  const auto src = std::filesystem::weakly_canonical(source_dir(), ec);
  const auto rel = abs.lexically_relative(src);
  if (!rel.empty() && *rel.begin() != "..") return rel.string();
  return abs.string();
}

}  // namespace xbarkit::characterize
