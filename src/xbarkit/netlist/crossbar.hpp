#pragma once
// The one description of a crossbar circuit. The SPICE deck writer and the native solvers read the
// same Crossbar, so any disagreement between engines is a bug in one of them, never a modelling choice.
//
// Every kind is an AND-style array: cell (i, j) conducts when row input i is 1 and it stores 1.
// Topologies (rows i = 0..rows-1 top to bottom, columns j = 0..cols-1 left to right):
//   sram8t   : 8T-SRAM decoupled read port. NMOS A (drain = read bitline node (i,j), gate = read
//              wordline i, source = internal node), NMOS B (internal node -> read source-line node
//              (i,j), gate = VDD if the bit is 1 else 0). Bitline: rows-1 segments plus one to the
//              sense node at the bottom, clamped at v_read. Source line: same, to ground at the bottom.
//   rram1t1r : bitline j driven at v_read from the top through r_bitline per segment; cell = ReRAM
//              (LRS if 1, HRS if 0) from bitline node (i,j) to the drain of an access NMOS whose gate
//              is wordline i and whose source is on source-line node (i,j); the source line runs down
//              to the sense node at the bottom, held at 0 V.
//   passive  : row i driven at v_read (input 1) or 0 V from column 0 through r_wordline per segment;
//              cell = LRS/HRS between row node (i,j) and column node (i,j); column j runs down with
//              r_bitline per segment to the sense node at the bottom, held at 0 V.
// Wordlines are driven from column 0 with r_wordline per segment (VDD for input 1, 0 V otherwise).
// Column j's output current flows through a 0 V source VSENSE<j>; a conducting column reads positive.
// A wire resistance of 0 is an ideal wire: the nodes it joins merge.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::netlist {

enum class CellKind { sram8t, rram1t1r, passive };
std::string to_string(CellKind kind);
std::optional<CellKind> parse_cell_kind(const std::string& s);

// What a passive cell is: a linear resistor (LRS/HRS ohms) or the nonlinear Stanford ReRAM.
enum class PassiveCell { resistor, reram };

struct Parasitics {
  double r_bitline_ohm = 0;
  double r_sourceline_ohm = 0;
  double r_wordline_ohm = 0;
};

// A user's own device library replaces the shipped models in SPICE runs: `library` is included,
// `osdi` files are loaded (pre_osdi) first, and the named subcircuits must have the ports of the
// shipped ones: transistor (d g s) with parameter nfin; reram (p n) with parameter gap.
struct UserModels {
  std::filesystem::path library;
  std::vector<std::filesystem::path> osdi;
  std::string transistor_subckt;  // empty: shipped MVS flavour
  std::string reram_subckt;       // empty: shipped Stanford ReRAM
};

struct Crossbar {
  int rows = 0;
  int cols = 0;
  CellKind cell = CellKind::sram8t;
  PassiveCell passive_cell = PassiveCell::resistor;
  Parasitics parasitics;
  double v_read_V = 0;
  double vdd_V = 0.7;

  // Devices (copied from the technology so a Crossbar is self-contained).
  FinfetParams transistor;     // sram8t: both read NMOS; rram1t1r: access NMOS
  int nfin = 1;
  ReramParams reram;           // rram1t1r cells, passive cells when passive_cell == reram
  double r_lrs_ohm = 10e3;     // passive resistor cells
  double r_hrs_ohm = 100e3;
  std::optional<UserModels> user_models;
  std::filesystem::path finfet_spice_lib;  // shipped SPICE equations (from the technology)
  std::filesystem::path reram_spice_lib;

  // Stimulus: inputs[i] for each row, weights[i*cols + j] for each cell; 0 or 1.
  std::vector<uint8_t> inputs;
  std::vector<uint8_t> weights;

  bool input(int i) const { return inputs[static_cast<size_t>(i)] != 0; }
  bool weight(int i, int j) const { return weights[static_cast<size_t>(i) * cols + j] != 0; }
  bool conducts(int i, int j) const { return input(i) && weight(i, j); }
  // Number of conducting cells in column j (the ideal partial sum).
  int conducting_count(int j) const;

  // The same array with every parasitic resistance set to zero.
  Crossbar ideal() const;

  // Throws InputError if sizes or values are inconsistent (used after programmatic construction).
  void validate(const std::string& origin = "crossbar") const;
};

// A crossbar with default devices and parasitics for `kind` from `tech`, and all-zero stimulus.
Crossbar make_crossbar(const Technology& tech, CellKind kind, int rows, int cols);

}  // namespace xbarkit::netlist
