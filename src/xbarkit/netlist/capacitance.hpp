#pragma once
// Capacitances and read drivers of the one circuit description (issue 19: energy, latency, area).
// The .tran deck (deck_writer.cpp) and the native read transient (transient/) place exactly these
// elements, so the two engines integrate the same circuit.
//
// What the description contains, and what it deliberately leaves out:
//  - Wire capacitance per cell segment of every line (technology [<kind>] c_bitline, c_sourceline,
//    c_wordline), lumped at each tap node (a pi-free "one C per segment" ladder, the same
//    discretization as the wire resistance).
//  - Per cell, the capacitances its kind reports (Cell::ladder_cell_caps / grid_cell_caps): FinFET
//    junction (cj) and overlap/fringe (cof) capacitances per fin, and a resistive device's own
//    capacitance (ReRAM, MTJ), and on the wordline the MVS 1.0.1 intrinsic gate charge.
//  - Floating gate-drain/gate-source overlaps are split into two grounded halves (the usual
//    Miller-factor-1 decomposition), and the MVS inversion charge is referenced to ground (the read
//    transistors' sources sit at the source line or the internal node, within ~0.1 V of ground
//    during a read). Both choices keep wordlines free of column currents, so columns stay
//    independent ladders in the native engine; the deck writes the same grounded elements, so the
//    engines agree on this circuit. docs/VALIDATION.md (issue 19) states the size of what is left out.
#include <cmath>
#include <limits>
#include <string>

namespace xbarkit::netlist {

inline constexpr double kNotGiven = std::numeric_limits<double>::quiet_NaN();

// Per cell segment of each line (F); NaN: not given in the technology file (a transient then fails
// with an error naming the key; DC analyses never need them).
struct WireCapacitance {
  double c_bitline_F = kNotGiven;
  double c_sourceline_F = kNotGiven;
  double c_wordline_F = kNotGiven;
};

// Read wordline (or passive row) driver: a voltage step of slew t_slew_s (0 -> V, linear ramp)
// behind r_driver_ohm, at the column-0 end of each active row ([read] table of the technology).
struct ReadDriver {
  double r_driver_ohm = kNotGiven;
  double t_slew_s = kNotGiven;
};

// Capacitances of one ladder cell (F), grounded unless stated; wire capacitance is added by the
// engines, not included here.
struct LadderCellCaps {
  double bitline_F = 0;            // at the cell's bitline node
  double internal_F = 0;           // at the node between the two devices
  double sourceline_F = 0;         // at the cell's source-line node
  double bitline_internal_F = 0;   // between bitline node and internal node (the device's own C)
  double wordline_F = 0;           // linear load on the cell's wordline tap (gate overlaps)
  int gate_fins = 0;               // MVS intrinsic gate charge on the wordline tap: fins (0 = none)
  int wordline_branch = 0;         // which branch's gate is the read wordline: 1 (e1) or 2 (e2)
};

// Capacitances of one grid cell (F): grounded at its row node and column node, and between them.
struct GridCellCaps {
  double row_F = 0;
  double column_F = 0;
  double cell_F = 0;
};

struct Crossbar;

// The crossbar transistor's capacitances for its fins (F): one side's overlap + fringe, and one
// source/drain junction. Throws InputError naming finfet.cof / finfet.cj when absent.
struct TransistorCaps {
  double overlap_F = 0;
  double junction_F = 0;
};
TransistorCaps transistor_caps(const Crossbar& x);

// `value` if it was given (finite), else throws InputError naming `technology_file` and `key`, with
// what the key means: the clear error for a technology file without capacitances.
double require_capacitance(double value, const std::string& technology_file, const std::string& key,
                           const std::string& meaning);

}  // namespace xbarkit::netlist
