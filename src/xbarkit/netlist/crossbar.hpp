#pragma once
// The one description of a crossbar circuit. The SPICE deck writer and the native solvers read the
// same Crossbar, so any disagreement between engines is a bug in one of them, never a modelling choice.
//
// Every kind is an AND-style array: cell (i, j) conducts when row input i is 1 and it stores 1 (or,
// for analog kinds, conducts its programmed state). What a cell is and how the array around it is
// wired is the cell kind's own file (netlist/cell_<kind>.cpp, registered in cell.hpp); what every
// kind shares is fixed here: rows i = 0..rows-1 top to bottom, columns j = 0..cols-1 left to right;
// wordlines are driven from column 0 with r_wordline per segment (VDD or v_read for input 1, 0 V
// otherwise); column j's output current flows through a 0 V source VSENSE<j> and reads positive when
// the column conducts; a wire resistance of 0 is an ideal wire: the nodes it joins merge.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xbarkit/netlist/cell.hpp"

#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/netlist/variation.hpp"

namespace xbarkit::netlist {

struct Parasitics {
  double r_bitline_ohm = 0;
  double r_sourceline_ohm = 0;
  double r_wordline_ohm = 0;
  WireCapacitance c;          // per cell segment (read transients only; capacitance.hpp)
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
  const Cell* cell = nullptr;  // the registered kind (cell.hpp)
  CellParams params;           // the kind's own parameters (its tech table and recipe keys)
  Parasitics parasitics;
  double v_read_V = 0;
  double vdd_V = 0.7;

  // Devices (copied from the technology so a Crossbar is self-contained).
  FinfetParams transistor;     // sram8t: both read NMOS; rram1t1r: access NMOS
  int nfin = 1;
  ReramParams reram;           // kinds with ReRAM devices
  std::optional<UserModels> user_models;
  std::filesystem::path finfet_spice_lib;  // shipped SPICE equations (from the technology)
  std::filesystem::path reram_spice_lib;
  ReadDriver read_driver;      // read transients: wordline drivers (capacitance.hpp)
  std::string technology_file; // where the capacitances came from (error messages)

  // Stimulus: inputs[i] for each row, weights[i*cols + j] for each cell; 0 or 1.
  std::vector<uint8_t> inputs;
  std::vector<uint8_t> weights;
  // Per-cell analog state, row-major like weights (e.g. a programmed conductance in S), for kinds
  // with Cell::analog_state(); empty: the cells store the bits in `weights`.
  std::vector<double> state;

  // Per-device mismatch draws (variation.hpp); empty: identical devices.
  CellVariation variation;

  const Cell& kind() const;  // throws Error if no kind is set
  std::string_view cell_name() const { return cell ? cell->name() : std::string_view("(none)"); }
  double cell_state(int i, int j) const { return state[static_cast<size_t>(i) * cols + j]; }

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

// Multiplies every wire's resistance per segment by `scale` (>= 0; 0 makes every wire ideal): the
// one definition of an array_ps "wire scale", used by characterization and inference alike.
void scale_wires(Crossbar& x, double scale);

// A crossbar with default devices and parasitics for cell kind `kind` from `tech`, and all-zero
// stimulus. Throws InputError if the kind is unknown or the technology has no table for it.
Crossbar make_crossbar(const Technology& tech, std::string_view kind, int rows, int cols);

}  // namespace xbarkit::netlist
