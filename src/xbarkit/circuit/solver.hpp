#pragma once
// Native crossbar circuit solver: the same circuit as the ngspice deck (netlist/deck_writer.cpp),
// solved with the cell models of devices.hpp (or a SPICE-characterized I-V table, iv_table.hpp).
//
//  - sram8t, rram1t1r: columns do not share a current-carrying line (wordlines drive gates only,
//    which draw no DC current), so each column's bitline and source line form a two-rail ladder
//    joined by its cells. Newton on the ladder, each step one block-tridiagonal (2x2 blocks) solve,
//    O(rows) per column; every cell's internal node and transistor currents are unknowns of the
//    same Newton iteration, eliminated cell by cell (static condensation). Columns run in parallel
//    (threads) and, within a thread, four at a time in lockstep with vectorized device evaluation.
//  - passive: rows carry current, columns couple; nodal analysis on the 2*rows*cols network with a
//    sparse Cholesky factorization (passive.hpp), Newton for ReRAM cells.
//
// Conventions are the deck's: column j's current is the current through VSENSE<j>, positive when
// the column conducts; a wire resistance of 0 merges the nodes it joins.
// solve_crossbar is thread-safe (no shared mutable state) and may be called from many threads.
#include <memory>
#include <vector>

#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::circuit {

class TransistorTable;

struct SolveOptions {
  unsigned threads = 1;            // columns solved in parallel (ladder arrays); 0 = all cores
  double reltol = 1e-10;           // Newton stops when every update is below reltol (relative)
  int max_newton_iterations = 100;
  bool node_voltages = false;      // fill CrossbarSolution's IR-drop map
  // Cell-model source: null = the built-in MVS equations (devices.hpp); otherwise the transistor's
  // I-V comes from this SPICE-characterized table (characterize::characterize_transistor), which
  // must have been made for the crossbar's transistor (gate levels 0 and vdd).
  std::shared_ptr<const TransistorTable> transistor_table;
};

struct CrossbarSolution {
  int rows = 0, cols = 0;
  std::vector<double> column_current_A;  // same sign as ngspice's i(VSENSE<j>)
  // IR-drop map (only with SolveOptions::node_voltages), row-major rows x cols, node of cell (i,j):
  //   bitline_V     sram8t/rram1t1r: read bitline; passive: column line
  //   sourceline_V  sram8t/rram1t1r: source line; passive: empty
  //   wordline_V    passive: row line; sram8t/rram1t1r: the gate voltage (wordlines carry no DC current)
  //   internal_V    sram8t: node between the two read transistors; rram1t1r: ReRAM/transistor node
  std::vector<double> bitline_V, sourceline_V, wordline_V, internal_V;
  int newton_iterations = 0;  // most iterations any column (or the coupled network) needed
  double elapsed_s = 0;
};

CrossbarSolution solve_crossbar(const netlist::Crossbar& xbar, const SolveOptions& opt = {});

// Current of one isolated cell of `xbar`'s kind with its terminals held at the ideal (zero-wire)
// voltages, for a row input and stored bit. The ideal array's column current is the sum of these.
double isolated_cell_current(const netlist::Crossbar& xbar, bool input, bool weight, const SolveOptions& opt = {});

}  // namespace xbarkit::circuit
