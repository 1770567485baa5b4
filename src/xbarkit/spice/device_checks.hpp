#pragma once
// Published check values of the shipped device models, run through ngspice: the MVS FinFET per-fin
// Idsat/Ioff (ASAP7), the 8T read stack and the 1T-1ReRAM read currents (docs/REFERENCES.md §§1, 3).
// Used by `xbarkit models check`, the tests and docs/VALIDATION.md.
#include <string>
#include <vector>

#include "xbarkit/netlist/technology.hpp"
#include "xbarkit/spice/session.hpp"

namespace xbarkit::spice {

struct DeviceCheck {
  std::string name;       // e.g. "rvt Idsat (Vgs = Vds = 0.7 V, 1 fin)"
  double value_A = 0;     // ngspice result
  double reference_A = 0; // published value
  double tolerance = 0;   // relative tolerance the project requires
  std::string source;
  double relative_error() const { return value_A / reference_A - 1.0; }
  bool passed() const { return std::abs(relative_error()) <= tolerance; }
};

std::vector<DeviceCheck> run_device_checks(Session& session, const netlist::Technology& tech);

}  // namespace xbarkit::spice
