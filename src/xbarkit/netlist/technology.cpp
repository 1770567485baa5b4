#include "xbarkit/netlist/technology.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/toml_reader.hpp"

namespace xbarkit::netlist {

const FinfetParams& Technology::finfet(const std::string& flavour) const {
  auto it = finfets.find(flavour);
  if (it == finfets.end()) throw InputError(file.string(), "finfet." + flavour, "no such transistor flavour");
  return it->second;
}

const ArrayDefaults& Technology::array(const std::string& kind) const {
  auto it = arrays.find(kind);
  if (it == arrays.end())
    throw InputError(file.string(), kind, fmt::format("no [{}] table: this technology has no defaults for that cell kind", kind));
  return it->second;
}

namespace {

double positive(const TomlSection& s, std::string_view key) {
  const double v = s.require_number(key);
  if (!(v > 0)) throw s.error(key, fmt::format("must be > 0, got {}", v));
  return v;
}

double non_negative(const TomlSection& s, std::string_view key) {
  const double v = s.require_number(key);
  if (!(v >= 0)) throw s.error(key, fmt::format("must be >= 0, got {}", v));
  return v;
}

// An optional capacitance (F): absent -> NaN (a read transient then names the key); present -> a
// finite value >= 0.
double optional_capacitance(const TomlSection& s, std::string_view key) {
  if (!s.has(key)) return kNotGiven;
  const double c = s.require_number(key);
  if (!(c >= 0) || !std::isfinite(c)) throw s.error(key, fmt::format("must be a finite capacitance >= 0 F, got {}", c));
  return c;
}

std::filesystem::path model_file(const TomlSection& s, std::string_view key) {
  const auto rel = s.require_string(key);
  auto path = source_dir() / rel;
  if (!std::filesystem::exists(path)) throw s.error(key, fmt::format("model file {} not found", path.string()));
  return path;
}

}  // namespace

ArrayDefaults read_common_defaults(const TomlSection& t, const Technology& tech) {
  ArrayDefaults d;
  if (t.has("transistor")) {
    d.transistor = t.require_string("transistor");
    if (!tech.finfets.count(d.transistor))
      throw t.error("transistor", fmt::format("unknown flavour '{}' (not under [finfet])", d.transistor));
    const auto nfin = t.integer("nfin").value_or(1);
    if (nfin < 1 || nfin > 1024) throw t.error("nfin", fmt::format("must be in [1, 1024], got {}", nfin));
    d.nfin = static_cast<int>(nfin);
  }
  auto wire = [&](std::string_view key) {
    if (!t.has(key)) return 0.0;
    const double r = non_negative(t, key);
    if (!std::isfinite(r)) throw t.error(key, "must be a finite resistance (0 = ideal wire)");
    return r;
  };
  d.r_bitline_ohm = wire("r_bitline");
  d.r_sourceline_ohm = wire("r_sourceline");
  d.r_wordline_ohm = wire("r_wordline");
  d.v_read_V = non_negative(t, "v_read");
  d.wire_caps.c_bitline_F = optional_capacitance(t, "c_bitline");
  d.wire_caps.c_sourceline_F = optional_capacitance(t, "c_sourceline");
  d.wire_caps.c_wordline_F = optional_capacitance(t, "c_wordline");
  return d;
}

Technology load_technology(const std::string& name_or_path, const std::filesystem::path& base_dir) {
  std::filesystem::path path;
  if (name_or_path.ends_with(".toml")) {
    path = std::filesystem::path(name_or_path);
    if (path.is_relative() && !base_dir.empty()) path = base_dir / path;
  } else {
    path = models_dir() / "tech" / (name_or_path + ".toml");
  }
  if (!std::filesystem::exists(path))
    throw InputError(path.string(), "", fmt::format("technology '{}' not found", name_or_path));

  const auto doc = TomlDocument::from_file(path);
  const auto root = doc.root();
  Technology tech;
  tech.file = path;
  tech.name = root.string("name").value_or(path.stem().string());

  const auto supply = root.require_table("supply");
  tech.vdd_V = positive(supply, "vdd");
  tech.temperature_K = positive(supply, "temperature");
  supply.reject_unknown_keys();

  const auto fin = root.require_table("finfet");
  tech.finfet_spice_lib = model_file(fin, "spice_model");
  FinfetParams common;
  common.w_m = positive(fin, "w");
  common.leff_m = positive(fin, "leff");
  common.cg_F_per_m2 = positive(fin, "cg");
  common.alpha = positive(fin, "alpha");
  common.beta = positive(fin, "beta");
  common.temperature_K = tech.temperature_K;
  common.cof_F = optional_capacitance(fin, "cof");
  common.cj_F = optional_capacitance(fin, "cj");
  for (const auto& key : fin.keys()) {
    if (key == "spice_model" || key == "w" || key == "leff" || key == "cg" || key == "alpha" || key == "beta" ||
        key == "cof" || key == "cj")
      continue;
    const auto fl = fin.table(key);
    if (!fl) continue;
    FinfetParams p = common;
    p.flavour = key;
    p.vx0_m_per_s = positive(*fl, "vx0");
    p.vt0_V = fl->require_number("vt0");
    p.mu_m2_per_Vs = positive(*fl, "mu");
    p.rs0_ohm_m = non_negative(*fl, "rs0");
    p.n0 = positive(*fl, "n0");
    p.delta = fl->require_number("delta");
    fl->reject_unknown_keys();
    tech.finfets[key] = p;
  }
  fin.reject_unknown_keys();

  const auto rr = root.require_table("reram");
  tech.reram_spice_lib = model_file(rr, "spice_model");
  tech.reram.i0_A = positive(rr, "i0");
  tech.reram.g0_m = positive(rr, "g0");
  tech.reram.v0_V = positive(rr, "v0");
  tech.reram.gap_lrs_m = positive(rr, "gap_lrs");
  tech.reram.gap_hrs_m = positive(rr, "gap_hrs");
  tech.reram.c_cell_F = optional_capacitance(rr, "c_cell");
  rr.reject_unknown_keys();

  if (auto rd = root.table("read")) {
    tech.read_driver.r_driver_ohm = non_negative(*rd, "r_driver");
    tech.read_driver.t_slew_s = non_negative(*rd, "t_slew");
    if (!std::isfinite(tech.read_driver.r_driver_ohm) || !std::isfinite(tech.read_driver.t_slew_s))
      throw rd->error("r_driver", "r_driver and t_slew must be finite");
    rd->reject_unknown_keys();
  }

  if (auto v = root.table("variation")) {
    auto sigma = [&](const char* key) {
      const double x = v->require_number(key);
      if (!(x >= 0) || !std::isfinite(x)) throw v->error(key, fmt::format("must be a finite sigma >= 0, got {}", x));
      return x;
    };
    tech.variation.avt_V_m = sigma("avt_mV_um") * 1e-9;
    tech.variation.sigma_ln_lrs = sigma("sigma_ln_lrs");
    tech.variation.sigma_ln_hrs = sigma("sigma_ln_hrs");
    if (v->has("sigma_ln_wire")) tech.variation.sigma_ln_wire = sigma("sigma_ln_wire");  // optional
    tech.variation.vt_sigma_global_V = sigma("vt_sigma_global");
    tech.variation.source = v->string("source").value_or("");
    v->reject_unknown_keys();
  }
  if (auto cs = root.table("corners")) {
    for (const auto& name : cs->keys()) {
      const auto c = cs->table(name);
      if (!c) throw cs->error(name, "expected a table [corners.<name>] with vdd, temperature, vt_shift");
      Corner k;
      k.name = name;
      k.vdd_V = positive(*c, "vdd");
      k.temperature_K = positive(*c, "temperature");
      k.vt_shift_sigma = c->number("vt_shift").value_or(0.0);
      if (!std::isfinite(k.vt_shift_sigma) || std::abs(k.vt_shift_sigma) > 6)
        throw c->error("vt_shift", fmt::format("must be within +-6 (global sigmas), got {}", k.vt_shift_sigma));
      c->reject_unknown_keys();
      tech.corners[name] = k;
    }
    cs->reject_unknown_keys();
  }
  // Each registered cell kind reads its own table (cell_<kind>.cpp); a kind without one has no
  // defaults in this technology.
  for (const Cell* cell : cells()) {
    const auto t = root.table(cell->name());
    if (!t) continue;
    tech.arrays[std::string(cell->name())] = cell->read_defaults(*t, tech);
  }
  root.reject_unknown_keys();
  return tech;
}

}  // namespace xbarkit::netlist
