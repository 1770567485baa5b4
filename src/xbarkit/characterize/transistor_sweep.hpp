#pragma once
// The SPICE side of the native solver's transistor tables (circuit/iv_table.hpp): the crossbar's
// transistor subcircuit (exactly as its deck instantiates it, with the crossbar's nfin) swept in
// ngspice over the table's grid of drain and source voltages at gate levels {0, vdd}. Lives here,
// not in circuit/, so the native tier never links ngspice.
#include "xbarkit/circuit/iv_table.hpp"
#include "xbarkit/core/progress.hpp"
#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::characterize {

// Runs in the caller's spice::Session (one per process); `progress` (optional) advances once per
// gate level (one ngspice dc sweep each).
circuit::TransistorTable characterize_transistor(spice::Session& session, const netlist::Crossbar& xbar,
                                                 const circuit::TableGrid& grid = {},
                                                 ProgressReporter* progress = nullptr);

}  // namespace xbarkit::characterize
