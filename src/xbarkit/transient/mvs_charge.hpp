#pragma once
// The MVS 1.0.1 intrinsic gate charge of an n-FinFET as the read transient uses it: referenced to
// ground with Vds = 0 (netlist/capacitance.hpp says why), the same equations as
// models/spice/mvs_gate_charge.lib (docs/REFERENCES.md §1):
//   Qg(V) = nfin * W * Leff * Qix0(V),  Qix0 = Cg * n0 * phit * ln(1 + exp(eta)),
//   eta = (V - (Vt0 - FF * alpha * phit)) / (n0 * phit),
//   FF = 1 / (1 + exp((V - (Vt0 - alpha * phit / 2)) / (alpha * phit))).
// Limits (tested in tests/transient): strong inversion dQ/dV -> nfin W Leff Cg (the oxide-limited
// gate capacitance); deep subthreshold Qg -> nfin W Leff Cg n0 phit exp((V - Vt0 + alpha phit)/(n0 phit)).
#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::transient {

class MvsGateCharge {
public:
  MvsGateCharge() = default;
  MvsGateCharge(const netlist::FinfetParams& p, int nfin);
  // Charge (C) and capacitance dQ/dV (F) at gate voltage v.
  void eval(double v, double& q_C, double& c_F) const;
  double charge(double v) const;
  double oxide_capacitance_F() const { return c_ox_F_; }  // nfin W Leff Cg

private:
  double c_ox_F_ = 0, vt0_ = 0, n_phit_ = 0, alpha_phit_ = 0;
};

}  // namespace xbarkit::transient
