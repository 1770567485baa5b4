#include "xbarkit/netlist/crossbar.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::netlist {

const Cell& Crossbar::kind() const {
  if (!cell) throw Error("crossbar has no cell kind (internal error)");
  return *cell;
}

int Crossbar::conducting_count(int j) const {
  int n = 0;
  for (int i = 0; i < rows; ++i) n += conducts(i, j);
  return n;
}

Crossbar Crossbar::ideal() const {
  Crossbar c = *this;
  c.parasitics.r_bitline_ohm = c.parasitics.r_sourceline_ohm = c.parasitics.r_wordline_ohm = 0;  // capacitances stay
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
  if (!cell) throw InputError(origin, "array.cell", fmt::format("no cell kind set ({})", cell_names()));
  if (!state.empty() && state.size() != static_cast<size_t>(rows) * cols)
    throw InputError(origin, "state", fmt::format("has {} entries, expected {}x{}", state.size(), rows, cols));
  for (const auto* v : {&variation.dvt_V, &variation.dln_r})
    if (!v->empty() && v->size() != 2 * static_cast<size_t>(rows) * cols)
      throw InputError(origin, "variation", fmt::format("has {} entries, expected 2x{}x{}", v->size(), rows, cols));
  if (variation.wires() && (variation.ln_r_bitline.size() != static_cast<size_t>(cols) ||
                            variation.ln_r_sourceline.size() != static_cast<size_t>(cols) ||
                            variation.ln_r_wordline.size() != static_cast<size_t>(rows)))
    throw InputError(origin, "variation", fmt::format("wire spread needs {} column and {} row entries", cols, rows));
  if (!variation.empty() && user_models)
    throw InputError(origin, "variation", "device variation needs the shipped device models (the user's subcircuits "
                                          "have no mismatch parameters)");
  cell->validate(*this, origin);
}

void scale_wires(Crossbar& x, double scale) {
  if (!(scale >= 0) || !std::isfinite(scale))
    throw InputError("crossbar", "wire_scale", fmt::format("must be a finite number >= 0, got {}", scale));
  x.parasitics.r_bitline_ohm *= scale;
  x.parasitics.r_sourceline_ohm *= scale;
  x.parasitics.r_wordline_ohm *= scale;
}

Crossbar make_crossbar(const Technology& tech, std::string_view kind, int rows, int cols) {
  const Cell* cell = find_cell(kind);
  if (!cell) throw InputError(tech.file.string(), "array.cell", fmt::format("unknown cell kind '{}' ({})", kind, cell_names()));
  const auto& d = tech.array(std::string(kind));
  Crossbar c;
  c.rows = rows;
  c.cols = cols;
  c.cell = cell;
  c.params = d.params;
  c.parasitics = {d.r_bitline_ohm, d.r_sourceline_ohm, d.r_wordline_ohm, d.wire_caps};
  c.v_read_V = d.v_read_V;
  c.vdd_V = tech.vdd_V;
  if (!d.transistor.empty()) c.transistor = tech.finfet(d.transistor);
  c.nfin = d.nfin;
  c.reram = tech.reram;
  c.finfet_spice_lib = tech.finfet_spice_lib;
  c.reram_spice_lib = tech.reram_spice_lib;
  c.read_driver = tech.read_driver;
  c.technology_file = tech.file.string();
  c.inputs.assign(static_cast<size_t>(std::max(rows, 0)), 0);
  c.weights.assign(static_cast<size_t>(std::max(rows, 0)) * std::max(cols, 0), 0);
  return c;
}

}  // namespace xbarkit::netlist
