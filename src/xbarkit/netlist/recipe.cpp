#include "xbarkit/netlist/recipe.hpp"

#include <cmath>
#include <fmt/format.h>

#include <sstream>

#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/toml_reader.hpp"

namespace xbarkit::netlist {

void fill_random_inputs(Crossbar& c, double density, uint64_t seed) {
  Rng rng(seed, 0);
  for (auto& x : c.inputs) x = rng.bernoulli(density) ? 1 : 0;
}

void fill_random_weights(Crossbar& c, double density, uint64_t seed) {
  Rng rng(seed, 1);
  for (auto& w : c.weights) w = rng.bernoulli(density) ? 1 : 0;
}

namespace {

double resistance(const TomlSection& s, std::string_view key, double fallback) {
  const auto v = s.number(key);
  if (!v) return fallback;
  if (!(*v >= 0)) throw s.error(key, fmt::format("must be >= 0 ohm (0 is an ideal wire), got {}", *v));
  return *v;
}

double probability(const TomlSection& s, std::string_view key, double fallback) {
  const auto v = s.number(key);
  if (!v) return fallback;
  if (!(*v >= 0 && *v <= 1)) throw s.error(key, fmt::format("must be in [0, 1], got {}", *v));
  return *v;
}

std::vector<uint8_t> parse_bits(const TomlSection& s, std::string_view key, const std::string& bits,
                                size_t expected, const std::string& what) {
  if (bits.size() != expected)
    throw s.error(key, fmt::format("has {} characters, expected {} ({})", bits.size(), expected, what));
  std::vector<uint8_t> out(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] != '0' && bits[i] != '1')
      throw s.error(key, fmt::format("character {} is '{}', expected '0' or '1'", i, bits[i]));
    out[i] = bits[i] == '1';
  }
  return out;
}

std::vector<uint8_t> read_weight_file(const TomlSection& s, const std::filesystem::path& path, int rows, int cols) {
  if (!std::filesystem::exists(path)) throw s.error("weights", fmt::format("weight file {} not found", path.string()));
  if (!std::filesystem::is_regular_file(path))
    throw s.error("weights", fmt::format("{} is not a regular file (a directory?)", path.string()));
  std::istringstream in(read_text_file(path));
  std::vector<uint8_t> out;
  std::string line;
  int r = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (r == rows)
      throw InputError(path.string(), "", fmt::format("has more than {} non-empty lines (rows)", rows));
    if (line.size() != static_cast<size_t>(cols))
      throw InputError(path.string(), fmt::format("line {}", r + 1),
                       fmt::format("has {} characters, expected {} (cols)", line.size(), cols));
    for (size_t c = 0; c < line.size(); ++c) {
      if (line[c] != '0' && line[c] != '1')
        throw InputError(path.string(), fmt::format("line {}", r + 1),
                         fmt::format("character {} is '{}', expected '0' or '1'", c + 1, line[c]));
      out.push_back(line[c] == '1');
    }
    ++r;
  }
  if (r != rows) throw InputError(path.string(), "", fmt::format("has {} rows, expected {}", r, rows));
  return out;
}

}  // namespace

CrossbarRecipe parse_crossbar_recipe(const std::string& text, const std::string& source_name,
                                     const std::filesystem::path& base_dir) {
  const auto doc = TomlDocument::from_string(text, source_name);
  const auto root = doc.root();
  CrossbarRecipe recipe;
  recipe.text = text;

  const auto array = root.require_table("array");
  const auto rows = array.require_integer("rows");
  const auto cols = array.require_integer("cols");
  if (rows < 1) throw array.error("rows", fmt::format("must be >= 1, got {}", rows));
  if (cols < 1) throw array.error("cols", fmt::format("must be >= 1, got {}", cols));
  if (rows > 65536 || cols > 65536) throw array.error(rows > 65536 ? "rows" : "cols", "must be <= 65536");
  const auto cell_name = array.require_string("cell");
  const Cell* kind = find_cell(cell_name);
  if (!kind) throw array.error("cell", fmt::format("unknown cell kind '{}' ({})", cell_name, cell_names()));
  recipe.tech = load_technology(array.string("tech").value_or("7nm"), base_dir);
  if (!recipe.tech.arrays.count(cell_name))
    throw array.error("tech", fmt::format("technology {} has no [{}] table", recipe.tech.file.string(), cell_name));
  Crossbar c = make_crossbar(recipe.tech, cell_name, static_cast<int>(rows), static_cast<int>(cols));
  kind->apply_recipe_keys(array, c);
  array.reject_unknown_keys();
  // Variation: the corner changes supply and transistors now (before [bias] overrides); the
  // per-device draws follow once the stored bits are known (LRS and HRS spread differently).
  if (auto v = root.table("variation")) {
    recipe.variation = read_variation(*v, recipe.tech);
    apply_corner(c, recipe.tech, recipe.variation.corner);
  }

  if (auto par = root.table("parasitics")) {
    c.parasitics.r_bitline_ohm = resistance(*par, "r_bitline", c.parasitics.r_bitline_ohm);
    c.parasitics.r_sourceline_ohm = resistance(*par, "r_sourceline", c.parasitics.r_sourceline_ohm);
    c.parasitics.r_wordline_ohm = resistance(*par, "r_wordline", c.parasitics.r_wordline_ohm);
    // Wire capacitance per cell segment (F), read transients only (netlist/capacitance.hpp).
    auto capacitance = [&](std::string_view key, double fallback) {
      const auto v = par->number(key);
      if (!v) return fallback;
      if (!(*v >= 0) || !std::isfinite(*v)) throw par->error(key, fmt::format("must be a finite capacitance >= 0 F, got {}", *v));
      return *v;
    };
    c.parasitics.c.c_bitline_F = capacitance("c_bitline", c.parasitics.c.c_bitline_F);
    c.parasitics.c.c_sourceline_F = capacitance("c_sourceline", c.parasitics.c.c_sourceline_F);
    c.parasitics.c.c_wordline_F = capacitance("c_wordline", c.parasitics.c.c_wordline_F);
    par->reject_unknown_keys();
  }

  if (auto bias = root.table("bias")) {
    if (auto v = bias->number("v_read")) {
      if (!(*v >= 0 && *v <= 5)) throw bias->error("v_read", fmt::format("must be in [0, 5] V, got {}", *v));
      c.v_read_V = *v;
    }
    if (auto v = bias->number("vdd")) {
      if (!(*v > 0 && *v <= 5)) throw bias->error("vdd", fmt::format("must be in (0, 5] V, got {}", *v));
      c.vdd_V = *v;
    }
    bias->reject_unknown_keys();
  }

  const auto stim = root.require_table("stimulus");
  const double density = probability(stim, "density", 0.5);
  const double input_density = probability(stim, "input_density", density);
  const double weight_density = probability(stim, "weight_density", density);
  const auto seed = stim.integer("seed").value_or(1);
  if (seed < 0) throw stim.error("seed", "must be >= 0");
  recipe.seed = static_cast<uint64_t>(seed);
  const auto inputs = stim.require_string("inputs");
  if (inputs == "random") fill_random_inputs(c, input_density, recipe.seed);
  else if (inputs == "ones") c.inputs.assign(c.inputs.size(), 1);
  else c.inputs = parse_bits(stim, "inputs", inputs, static_cast<size_t>(rows), "one per row");
  const auto weights = stim.require_string("weights");
  if (weights == "random") fill_random_weights(c, weight_density, recipe.seed);
  else if (weights == "ones") c.weights.assign(c.weights.size(), 1);
  else {
    std::filesystem::path p = weights;
    if (p.is_relative()) p = base_dir / p;
    c.weights = read_weight_file(stim, p, c.rows, c.cols);
  }
  stim.reject_unknown_keys();

  if (auto models = root.table("models")) {
    UserModels um;
    auto resolve = [&](const std::string& key, const std::string& rel) {
      std::filesystem::path p = rel;
      if (p.is_relative()) p = base_dir / p;
      if (!std::filesystem::exists(p)) throw models->error(key, fmt::format("model file {} not found", p.string()));
      if (!std::filesystem::is_regular_file(p))
        throw models->error(key, fmt::format("{} is not a regular file (a directory?)", p.string()));
      return std::filesystem::absolute(p).lexically_normal();
    };
    if (auto lib = models->string("library")) um.library = resolve("library", *lib);
    if (auto osdi = models->string_array("osdi"))
      for (const auto& f : *osdi) um.osdi.push_back(resolve("osdi", f));
    um.transistor_subckt = models->string("transistor").value_or("");
    um.reram_subckt = models->string("reram").value_or("");
    if (um.library.empty() && (!um.transistor_subckt.empty() || !um.reram_subckt.empty()))
      throw models->error("library", "naming a subcircuit needs the library that defines it");
    models->reject_unknown_keys();
    c.user_models = um;
  }

  root.reject_unknown_keys();
  if (recipe.variation.enabled) draw_variation(c, recipe.variation);
  c.validate(source_name);
  recipe.crossbar = std::move(c);
  return recipe;
}

CrossbarRecipe load_crossbar_recipe(const std::filesystem::path& path) {
  auto recipe = parse_crossbar_recipe(read_text_file(path), path.string(), path.parent_path());
  recipe.file = path;
  return recipe;
}

}  // namespace xbarkit::netlist
