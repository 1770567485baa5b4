#include "xbarkit/netlist/crossbar.hpp"

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::netlist {

std::string to_string(CellKind kind) {
  switch (kind) {
    case CellKind::sram8t: return "sram8t";
    case CellKind::rram1t1r: return "rram1t1r";
    case CellKind::passive: return "passive";
  }
  return "?";
}

std::optional<CellKind> parse_cell_kind(const std::string& s) {
  if (s == "sram8t") return CellKind::sram8t;
  if (s == "rram1t1r") return CellKind::rram1t1r;
  if (s == "passive") return CellKind::passive;
  return std::nullopt;
}

int Crossbar::conducting_count(int j) const {
  int n = 0;
  for (int i = 0; i < rows; ++i) n += conducts(i, j);
  return n;
}

Crossbar Crossbar::ideal() const {
  Crossbar c = *this;
  c.parasitics = Parasitics{};
  return c;
}

void Crossbar::validate(const std::string& origin) const {
  if (rows < 1) throw InputError(origin, "array.rows", fmt::format("must be >= 1, got {}", rows));
  if (cols < 1) throw InputError(origin, "array.cols", fmt::format("must be >= 1, got {}", cols));
  if (inputs.size() != static_cast<size_t>(rows))
    throw InputError(origin, "stimulus.inputs", fmt::format("has {} entries, expected {} (one per row)", inputs.size(), rows));
  if (weights.size() != static_cast<size_t>(rows) * cols)
    throw InputError(origin, "stimulus.weights", fmt::format("has {} entries, expected {}x{}", weights.size(), rows, cols));
  auto check_r = [&](double r, const char* key) {
    if (!(r >= 0)) throw InputError(origin, fmt::format("parasitics.{}", key), fmt::format("must be >= 0 ohm, got {}", r));
  };
  check_r(parasitics.r_bitline_ohm, "r_bitline");
  check_r(parasitics.r_sourceline_ohm, "r_sourceline");
  check_r(parasitics.r_wordline_ohm, "r_wordline");
  if (!(v_read_V >= 0)) throw InputError(origin, "bias.v_read", fmt::format("must be >= 0 V, got {}", v_read_V));
  if (!(vdd_V > 0)) throw InputError(origin, "bias.vdd", fmt::format("must be > 0 V, got {}", vdd_V));
  if (nfin < 1) throw InputError(origin, "nfin", "must be >= 1");
}

Crossbar make_crossbar(const Technology& tech, CellKind kind, int rows, int cols) {
  const auto& d = tech.array(to_string(kind));
  Crossbar c;
  c.rows = rows;
  c.cols = cols;
  c.cell = kind;
  c.parasitics = {d.r_bitline_ohm, d.r_sourceline_ohm, d.r_wordline_ohm};
  c.v_read_V = d.v_read_V;
  c.vdd_V = tech.vdd_V;
  if (!d.transistor.empty()) c.transistor = tech.finfet(d.transistor);
  c.nfin = d.nfin;
  c.reram = tech.reram;
  c.finfet_spice_lib = tech.finfet_spice_lib;
  c.reram_spice_lib = tech.reram_spice_lib;
  if (d.r_lrs_ohm > 0) c.r_lrs_ohm = d.r_lrs_ohm;
  if (d.r_hrs_ohm > 0) c.r_hrs_ohm = d.r_hrs_ohm;
  c.inputs.assign(static_cast<size_t>(std::max(rows, 0)), 0);
  c.weights.assign(static_cast<size_t>(std::max(rows, 0)) * std::max(cols, 0), 0);
  return c;
}

}  // namespace xbarkit::netlist
