#pragma once
// Technology parameters (models/tech/<name>.toml): supply, device model parameters and the per-kind
// array defaults. The SPICE deck writer and the native solver both take their numbers from here.
#include <filesystem>
#include <map>
#include <string>

#include "xbarkit/netlist/capacitance.hpp"
#include "xbarkit/netlist/cell.hpp"
#include "xbarkit/netlist/variation.hpp"

namespace xbarkit::netlist {

// MIT Virtual Source 1.0.1 n-FinFET, DC, per fin (Khakifirooz et al., IEEE TED 56, 1674, 2009; MVS 1.0.1, nanoHUB 19684). SI units.
struct FinfetParams {
  std::string flavour;      // e.g. "rvt", "sramvt"
  double w_m = 70.5e-9;     // effective width per fin
  double leff_m = 18e-9;
  double cg_F_per_m2 = 2.5e-2;
  double alpha = 3.5;
  double beta = 1.8;
  double vx0_m_per_s = 1.134e5;
  double vt0_V = 0.4477;
  double mu_m2_per_Vs = 228e-4;
  double rs0_ohm_m = 143.9e-6;  // per side
  double n0 = 1.0654;
  double delta = 0.0213;
  double temperature_K = 298.15;
  // Capacitances per fin (issue 19; NaN when the technology file has none): cof_F overlap + outer
  // fringe of ONE side (gate-drain or gate-source), cj_F junction of one source/drain. The
  // intrinsic channel charge is MVS's own (cg, w, leff).
  double cof_F = kNotGiven;
  double cj_F = kNotGiven;
};

// Stanford/ASU ReRAM, DC read: I = i0 exp(-gap/g0) sinh(V/v0) (Jiang et al., SISPAD 2014, the Stanford/ASU RRAM model; docs/REFERENCES.md).
struct ReramParams {
  double i0_A = 1e-3;
  double g0_m = 0.25e-9;
  double v0_V = 0.25;
  double gap_lrs_m = 0.948e-9;
  double gap_hrs_m = 1.524e-9;
  double c_cell_F = kNotGiven;  // cell capacitance (electrode/oxide/electrode), issue 19
};

// Defaults of one array kind ([<cell>] table): wire resistance per cell segment, read voltage,
// transistor choice, and the cell kind's own named parameters (see its netlist/cell_<name>.cpp).
struct ArrayDefaults {
  std::string transistor;   // finfet flavour ("" for cells without one)
  int nfin = 1;
  double r_bitline_ohm = 0;
  double r_sourceline_ohm = 0;
  double r_wordline_ohm = 0;
  double v_read_V = 0;
  WireCapacitance wire_caps;  // c_bitline, c_sourceline, c_wordline (optional keys)
  CellParams params;
};

// Reads the keys every cell kind shares (transistor, nfin, r_bitline, r_sourceline, r_wordline,
// v_read) from a cell's tech table; the cell reads its own keys and rejects unknown ones.
ArrayDefaults read_common_defaults(const TomlSection& table, const Technology& tech);

struct Technology {
  std::string name;
  std::filesystem::path file;
  double vdd_V = 0.7;
  double temperature_K = 298.15;
  std::filesystem::path finfet_spice_lib;   // absolute path of the MVS equations
  std::filesystem::path reram_spice_lib;
  std::map<std::string, FinfetParams> finfets;  // by flavour
  ReramParams reram;
  std::map<std::string, ArrayDefaults> arrays;  // by cell kind, for every kind with a table
  VariationDefaults variation;                  // [variation] (all zero without the table)
  std::map<std::string, Corner> corners;        // [corners.<name>]
  ReadDriver read_driver;                       // [read] (NaN without the table)

  const FinfetParams& finfet(const std::string& flavour) const;
  const ArrayDefaults& array(const std::string& kind) const;
};

// `name_or_path` is a name under models/tech/ ("7nm") or a path to a .toml file; a relative path is
// resolved against `base_dir` (the recipe's directory).
Technology load_technology(const std::string& name_or_path, const std::filesystem::path& base_dir = {});

}  // namespace xbarkit::netlist
