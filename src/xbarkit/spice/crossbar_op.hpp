#pragma once
// Operating point of a Crossbar in ngspice: column currents read through VSENSE<j>.
#include <vector>

#include "xbarkit/netlist/crossbar.hpp"
#include "xbarkit/spice/session.hpp"
#include "xbarkit/spice/worker_pool.hpp"

namespace xbarkit::spice {

struct CrossbarOp {
  std::vector<double> column_current_A;  // positive when the column conducts
  double elapsed_s = 0;                  // ngspice load + op
  std::string op_method = "newton";      // how ngspice got there (spice::OpResult::method)
};

// Runs in this process's Session.
CrossbarOp solve_crossbar(Session& session, const netlist::Crossbar& xbar);

// The job for a worker pool, and its decoding.
SpiceJob crossbar_job(const netlist::Crossbar& xbar);
CrossbarOp decode_crossbar_result(const netlist::Crossbar& xbar, const SpiceJobResult& result);

}  // namespace xbarkit::spice
