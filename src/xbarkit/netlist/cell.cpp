#include "xbarkit/netlist/cell.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/toml_reader.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/netlist/technology.hpp"

// Every netlist/cell_<suffix>.cpp defines link_cell_<suffix>() (XBARKIT_REGISTER_CELL); CMake
// generates the list of them (cell_plugins.inc), so a new cell file is linked and registered
// without touching this file.
#define XBARKIT_PLUGIN(suffix) void link_cell_##suffix();
namespace xbarkit::netlist {
#include "cell_plugins.inc"
}
#undef XBARKIT_PLUGIN

namespace xbarkit::netlist {

namespace {
std::vector<const Cell*>& registry() {
  static std::vector<const Cell*> r;
  return r;
}
const std::vector<const Cell*>& all() {
  static const bool linked = [] {
#define XBARKIT_PLUGIN(suffix) link_cell_##suffix();
#include "cell_plugins.inc"
#undef XBARKIT_PLUGIN
    std::sort(registry().begin(), registry().end(), [](const Cell* a, const Cell* b) { return a->name() < b->name(); });
    return true;
  }();
  (void)linked;
  return registry();
}
}  // namespace

RegisterCell::RegisterCell(const Cell& c) {
  for (const Cell* known : registry())
    if (known->name() == c.name()) throw Error(fmt::format("cell kind '{}' registered twice", c.name()));
  registry().push_back(&c);
}

const Cell* find_cell(std::string_view name) {
  for (const Cell* c : all())
    if (c->name() == name) return c;
  return nullptr;
}

const Cell& cell(std::string_view name) {
  if (const Cell* c = find_cell(name)) return *c;
  throw Error(fmt::format("unknown cell kind '{}' (known: {})", name, cell_names()));
}

std::vector<const Cell*> cells() { return all(); }

std::string cell_names(std::string_view separator) {
  std::string out;
  for (const Cell* c : all()) out += (out.empty() ? "" : std::string(separator)) + std::string(c->name());
  return out;
}

double CellParams::number(const std::string& key) const {
  auto it = numbers.find(key);
  if (it == numbers.end()) throw Error(fmt::format("cell parameter '{}' is not set", key));
  return it->second;
}

const std::string& CellParams::choice(const std::string& key) const {
  auto it = choices.find(key);
  if (it == choices.end()) throw Error(fmt::format("cell parameter '{}' is not set", key));
  return it->second;
}

ArrayDefaults Cell::read_defaults(const TomlSection& table, const Technology& tech) const {
  auto d = read_common_defaults(table, tech);
  table.reject_unknown_keys();
  return d;
}

void Cell::apply_recipe_keys(const TomlSection&, Crossbar&) const {}

void Cell::validate(const Crossbar& x, const std::string& origin) const {
  if (!x.state.empty() && !analog_state())
    throw InputError(origin, "state", fmt::format("{} cells store a bit, not an analog state", name()));
}

LadderCellSpec Cell::ladder_cell(const Crossbar&, bool, bool) const {
  throw Error(fmt::format("cell kind '{}' is not a column-ladder kind (internal error)", name()));
}
LadderRails Cell::ladder_rails(const Crossbar&) const {
  throw Error(fmt::format("cell kind '{}' is not a column-ladder kind (internal error)", name()));
}
RailLoadWeights top_fed_bitline_rails(const Crossbar& x) {
  const double total = x.parasitics.r_bitline_ohm + x.parasitics.r_sourceline_ohm;
  if (total <= 0) return {0.5, 0.5};
  return {x.parasitics.r_bitline_ohm / total, x.parasitics.r_sourceline_ohm / total};
}

BranchSpec grid_cell_at(const Crossbar& x, int i, int j) {
  const double* state = x.state.empty() ? nullptr : &x.state[static_cast<size_t>(i) * x.cols + j];
  return x.kind().grid_cell(x, x.weight(i, j), state);
}

BranchSpec Cell::grid_cell(const Crossbar&, bool, const double*) const {
  throw Error(fmt::format("cell kind '{}' is not a grid kind (internal error)", name()));
}
RailLoadWeights Cell::rail_load_weights(const Crossbar&) const { return {0, 1}; }
std::vector<CellCheck> Cell::device_checks(const Technology&) const { return {}; }

}  // namespace xbarkit::netlist
