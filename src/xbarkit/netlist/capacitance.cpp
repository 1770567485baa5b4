#include "xbarkit/netlist/capacitance.hpp"

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::netlist {

double require_capacitance(double value, const std::string& technology_file, const std::string& key,
                           const std::string& meaning) {
  if (std::isfinite(value)) return value;
  throw InputError(technology_file, key,
                   fmt::format("missing: a read transient needs {} (F); add it to the technology file "
                               "(models/tech/7nm.toml shows the shipped values and their sources)",
                               meaning));
}

TransistorCaps transistor_caps(const Crossbar& x) {
  TransistorCaps t;
  t.overlap_F = x.nfin * require_capacitance(x.transistor.cof_F, x.technology_file, "finfet.cof",
                                             "the FinFET overlap + fringe capacitance per side and fin");
  t.junction_F = x.nfin * require_capacitance(x.transistor.cj_F, x.technology_file, "finfet.cj",
                                              "the FinFET source/drain junction capacitance per fin");
  return t;
}

LadderCellCaps Cell::ladder_cell_caps(const Crossbar&) const {
  throw Error(fmt::format("cell kind '{}' has no ladder capacitance model (read transients)", name()));
}

GridCellCaps Cell::grid_cell_caps(const Crossbar&) const {
  throw Error(fmt::format("cell kind '{}' has no grid capacitance model (read transients)", name()));
}

}  // namespace xbarkit::netlist
