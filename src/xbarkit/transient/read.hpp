#pragma once
// One read of a crossbar as a transient (issue 19): at t = 0 the array sits at its operating point
// with every wordline (passive: row) at 0 V; the drivers of the active rows then ramp to their read
// level (netlist::ReadDriver), the columns' sense currents rise and settle. Reported: per column the
// settling time (last time the sense current is outside +-fraction of its final value, the band
// never narrower than fraction x one conducting cell's current; the final current is the value at
// the window's end, checked to have stopped moving), the read latency (slowest column),
// and the energy every source delivers from t = 0 to the latency.
//
// Two engines produce the waveforms, from the same circuit (netlist/capacitance.hpp):
//   - native (read_native): the wordline is integrated once (every active row's is the same) and
//     each column ladder then on its own, O(rows) per step (network.hpp); passive grids as one
//     coupled network;
//   - ngspice (spice/crossbar_tran.hpp): the .tran deck of deck_writer.
// summarize_read turns either engine's waveforms into the same ReadResult.
#include <string>
#include <vector>

#include "xbarkit/netlist/crossbar.hpp"

namespace xbarkit::transient {

struct ReadOptions {
  double settle_fraction = 0.01;  // settling band, fraction of the final current
  double window_s = 0;            // simulated time; 0 = automatic (auto_window)
  int output_points = 200;        // ngspice: largest step (TMAX) = window / output_points
  double ngspice_reltol = 1e-6;   // ngspice: .options reltol (its trapezoidal LTE control scales with it)
  // ngspice: MVS formulation of the deck (netlist::DeckOptions::Tran::mvs_auxiliary_nodes): auxiliary
  // nodes (faster up to 32x32) or single-source (less fill-in: faster at 64x64); same equations.
  bool ngspice_mvs_auxiliary_nodes = true;
  // native: largest step = window / native_points; its waveforms are sampled at every step end and
  // TR-BDF2 stage point, and its own error control (lte_*) sets the accuracy
  int native_points = 100;
  double lte_abs_V = 1e-6;        // native TR-BDF2 local error tolerance (abs + rel |v|)
  double lte_rel = 1e-5;
  unsigned threads = 1;           // native: columns integrated in parallel
  // native, ladder arrays: integrate only these columns (empty = all). Columns of a ladder array are
  // independent once the wordline is known, so a subset gives exactly those columns' waveforms and
  // energies; the latency and energy then cover the subset only (ReadResult::column_index).
  std::vector<int> columns;
};

// `count` columns of an array `cols` wide spread evenly over it, always with the first and the last
// (the last sees the latest wordline arrival); all columns if count >= cols.
std::vector<int> spread_columns(int cols, int count);

// A waveform of one column's sense current, and the power one source delivers, each on its own
// time grid (the native engine steps each column on its own).
struct Wave {
  std::string name;
  std::vector<double> t, y;
};

struct SourceEnergy {
  std::string name;      // the deck's source name (VWL3, VCLAMP, VBL, VROW0, VDD)
  std::string group;     // wordline_drivers | bitline | vdd | other
  double energy_J = 0;   // delivered from t = 0 to the read latency (or the window end)
};

struct ReadResult {
  std::string engine;
  double window_s = 0;
  double settle_fraction = 0;
  std::vector<double> final_current_A;  // sense current at the window's end (the settled value)
  std::vector<double> end_current_A;    // the same (kept for reports)
  std::vector<double> tail_drift_A;     // largest |I - final| over the window's last fifth
  std::vector<double> settle_s;         // per column; NaN if it did not settle in the window
  std::vector<bool> settled;
  double band_floor_A = 0;              // fraction x one conducting cell's current
  double read_latency_s = 0;            // slowest column (NaN if any column did not settle)
  double read_energy_J = 0;             // all sources, 0 .. latency (0 .. window if unsettled)
  std::vector<SourceEnergy> sources;
  // Native ladder arrays: the energy column j's bitline source delivered (0 .. latency), and the
  // energy one active row's wordline driver delivered (every active row's is the same).
  std::vector<double> column_energy_J;
  std::vector<int> column_index;        // the array column of each entry of the per-column vectors
  double wordline_energy_per_row_J = 0;
  int active_rows = 0;
  double elapsed_s = 0;
  int steps = 0;                        // native: accepted steps summed over the networks
  std::vector<Wave> columns;            // the sense-current waveforms (for plots and checks)
  bool all_settled() const;
  // "column 3 reached 97.2% of its final current (band +-1%)", one line per unsettled column.
  std::vector<std::string> unsettled_report() const;
};

// Simulated time when none is given: twice the driver slew plus twelve times the wordline and
// column Elmore delays (estimated from the circuit's R and C), so a 1% band is reached with margin.
double auto_window(const netlist::Crossbar& x);

// Checks that `x` can be simulated as a read (capacitances and driver given, no variation draws);
// throws InputError naming the missing key.
void require_read_transient(const netlist::Crossbar& x);

ReadResult read_native(const netlist::Crossbar& x, const ReadOptions& opt = {});

// The common post-processing of both engines. `columns` are sense currents, `sources` the power
// each source delivers (W). A column's final current is its value at the window's end, accepted as
// final only if it moved by less than half the band over the window's last fifth (otherwise the
// column is reported unsettled, with how far it still moved).
ReadResult summarize_read(const netlist::Crossbar& x, std::string engine, double window_s, double fraction,
                          std::vector<Wave> columns, const std::vector<Wave>& sources);

// Groups a deck source name: VWL*/VROW* -> wordline_drivers, VCLAMP/VBL -> bitline, VDD -> vdd.
std::string source_group(const std::string& name);

}  // namespace xbarkit::transient

namespace xbarkit::spice {
class Session;
}

namespace xbarkit::transient {

// The same read in ngspice (.tran deck, spice/crossbar_tran.hpp), summarized like read_native:
// window and output spacing as `opt` gives them, final currents from ngspice's own operating point.
ReadResult read_ngspice(spice::Session& session, const netlist::Crossbar& x, const ReadOptions& opt = {});

}  // namespace xbarkit::transient
