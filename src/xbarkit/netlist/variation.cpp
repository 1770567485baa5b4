#include "xbarkit/netlist/variation.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {

namespace {
// Beyond these a Gaussian draw makes devices unphysical often enough to matter: a 1-sigma ln(R) of 2
// is a factor 7.4 in resistance; a Vt sigma of a quarter of Vt0 puts 1 in 2e4 devices below Vt = 0.
constexpr double kMaxSigmaLn = 2.0;
constexpr double kMaxVtSigmaOverVt0 = 0.25;
}  // namespace

VariationSpec read_variation(const TomlSection& t, const Technology& tech) {
  VariationSpec s;
  s.enabled = t.boolean("enabled").value_or(true);
  const auto& d = tech.variation;
  auto sigma = [&](const char* key, double dflt) {
    const double v = t.number(key).value_or(dflt);
    if (!(v >= 0) || !std::isfinite(v)) throw t.error(key, fmt::format("must be a finite sigma >= 0, got {}", v));
    return v;
  };
  s.avt_V_m = sigma("avt_mV_um", d.avt_V_m * 1e9) * 1e-9;
  s.sigma_ln_lrs = sigma("sigma_ln_lrs", d.sigma_ln_lrs);
  s.sigma_ln_hrs = sigma("sigma_ln_hrs", d.sigma_ln_hrs);
  s.sigma_ln_wire = sigma("sigma_ln_wire", d.sigma_ln_wire);
  s.scale = sigma("scale", 1.0);
  for (auto [key, v] : {std::pair{"sigma_ln_lrs", s.sigma_ln_lrs * s.scale}, std::pair{"sigma_ln_hrs", s.sigma_ln_hrs * s.scale},
                        std::pair{"sigma_ln_wire", s.sigma_ln_wire * s.scale}})
    if (v > kMaxSigmaLn)
      throw t.error(key, fmt::format("sigma {} (after scale) exceeds {}: a lognormal resistance that wide is not a "
                                     "device spread", v, kMaxSigmaLn));
  const auto seed = t.integer("seed").value_or(1);
  if (seed < 0) throw t.error("seed", fmt::format("must be >= 0, got {}", seed));
  s.seed = static_cast<uint64_t>(seed);
  s.corner = t.string("corner").value_or("");
  if (!s.corner.empty() && !tech.corners.count(s.corner)) {
    std::string known;
    for (const auto& [name, c] : tech.corners) known += (known.empty() ? "" : ", ") + name;
    throw t.error("corner", fmt::format("unknown corner '{}' (technology {} has: {})", s.corner, tech.file.string(),
                                        known.empty() ? "none" : known));
  }
  t.reject_unknown_keys();
  return s;
}

VariationSpec default_variation(const Technology& tech, double scale, uint64_t seed, const std::string& key) {
  if (!(scale >= 0) || !std::isfinite(scale))
    throw InputError(tech.file.string(), key, fmt::format("must be a finite sigma scale >= 0, got {}", scale));
  VariationSpec s;
  s.enabled = true;
  s.avt_V_m = tech.variation.avt_V_m;
  s.sigma_ln_lrs = tech.variation.sigma_ln_lrs;
  s.sigma_ln_hrs = tech.variation.sigma_ln_hrs;
  s.sigma_ln_wire = tech.variation.sigma_ln_wire;
  s.scale = scale;
  s.seed = seed;
  if (std::max({s.sigma_ln_lrs, s.sigma_ln_hrs, s.sigma_ln_wire}) * scale > kMaxSigmaLn)
    throw InputError(tech.file.string(), key, fmt::format("scale {} makes a ln-resistance sigma exceed {}", scale, kMaxSigmaLn));
  return s;
}

double transistor_vt_sigma_V(const Crossbar& x, const VariationSpec& spec) {
  const double area = x.transistor.w_m * x.transistor.leff_m * x.nfin;  // gate area of the whole device
  return spec.scale * spec.avt_V_m / std::sqrt(area);
}

void apply_corner(Crossbar& x, const Technology& tech, const std::string& name) {
  if (name.empty()) return;
  auto it = tech.corners.find(name);
  if (it == tech.corners.end()) throw InputError(tech.file.string(), "corners." + name, "no such corner");
  const Corner& c = it->second;
  // The supply scales with the corner; read voltages are set by the periphery and stay.
  x.vdd_V = c.vdd_V;
  x.transistor.temperature_K = c.temperature_K;
  x.transistor.vt0_V += c.vt_shift_sigma * tech.variation.vt_sigma_global_V;
}

BranchSpec apply_variation(BranchSpec d, const Crossbar& x, size_t cell, int slot) {
  switch (d.kind) {
    case BranchSpec::Kind::transistor: d.gate_V -= x.variation.dvt(cell, slot); break;
    case BranchSpec::Kind::reram: d.reram_gap_m += x.reram.g0_m * x.variation.ln_r(cell, slot); break;
    case BranchSpec::Kind::resistor: d.resistance_ohm *= std::exp(x.variation.ln_r(cell, slot)); break;
    case BranchSpec::Kind::custom: break;
  }
  return d;
}

void draw_variation(Crossbar& x, const VariationSpec& spec, uint64_t stream) {
  x.variation = {};
  if (!spec.enabled) return;
  const Cell& cell = x.kind();
  const size_t n = static_cast<size_t>(x.rows) * x.cols;
  const double sigma_vt = transistor_vt_sigma_V(x, spec);
  if (sigma_vt > kMaxVtSigmaOverVt0 * std::abs(x.transistor.vt0_V) && cell.uses_transistor(x))
    throw InputError("variation", "avt_mV_um",
                     fmt::format("sigma(dVt) = {:.3g} V per transistor exceeds {} of Vt0 = {:.3g} V: too many devices "
                                 "would have no threshold left", sigma_vt, kMaxVtSigmaOverVt0, x.transistor.vt0_V));
  x.variation.dvt_V.assign(2 * n, 0.0);
  x.variation.dln_r.assign(2 * n, 0.0);
  const bool ladder = cell.topology() == Topology::column_ladder;
  LadderCellSpec by_bit[2];  // a ladder cell's devices depend only on its stored bit: ask once per bit
  if (ladder) by_bit[0] = cell.ladder_cell(x, true, false), by_bit[1] = cell.ladder_cell(x, true, true);
  for (int i = 0; i < x.rows; ++i)
    for (int j = 0; j < x.cols; ++j) {
      const size_t k = static_cast<size_t>(i) * x.cols + j;
      const bool w = x.weight(i, j);
      BranchSpec dev[2];
      if (ladder) {
        dev[0] = by_bit[w].e1, dev[1] = by_bit[w].e2;
      } else {
        dev[0] = grid_cell_at(x, i, j);
        dev[1].kind = BranchSpec::Kind::custom;  // no second device
      }
      for (int slot = 0; slot < 2; ++slot) {
        Rng rng(spec.seed, (stream << 32) ^ (2 * k + static_cast<size_t>(slot)));
        switch (dev[slot].kind) {
          case BranchSpec::Kind::transistor: x.variation.dvt_V[2 * k + slot] = sigma_vt * rng.normal(); break;
          case BranchSpec::Kind::reram:
          case BranchSpec::Kind::resistor:
            x.variation.dln_r[2 * k + slot] = spec.scale * (w ? spec.sigma_ln_lrs : spec.sigma_ln_hrs) * rng.normal();
            break;
          case BranchSpec::Kind::custom: break;  // a cell's own model: no variation parameters
        }
      }
    }
  if (spec.sigma_ln_wire > 0) {
    // Line streams: bitline j -> 3j, source line j -> 3j + 1, wordline i -> 3i + 2, under a seed of
    // their own (so adding wire spread leaves the device draws unchanged).
    const uint64_t wire_seed = derive_seed(spec.seed, 0x77697265);  // "wire"
    const double s = spec.scale * spec.sigma_ln_wire;
    auto line = [&](uint64_t id) { return s * Rng(wire_seed, (stream << 32) ^ id).normal(); };
    x.variation.ln_r_bitline.resize(static_cast<size_t>(x.cols));
    x.variation.ln_r_sourceline.resize(static_cast<size_t>(x.cols));
    x.variation.ln_r_wordline.resize(static_cast<size_t>(x.rows));
    for (int j = 0; j < x.cols; ++j) {
      x.variation.ln_r_bitline[static_cast<size_t>(j)] = line(3 * static_cast<uint64_t>(j));
      x.variation.ln_r_sourceline[static_cast<size_t>(j)] = line(3 * static_cast<uint64_t>(j) + 1);
    }
    for (int i = 0; i < x.rows; ++i) x.variation.ln_r_wordline[static_cast<size_t>(i)] = line(3 * static_cast<uint64_t>(i) + 2);
  }
}

}  // namespace xbarkit::netlist
