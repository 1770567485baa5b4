#include "xbarkit/transient/mvs_charge.hpp"

#include <cmath>

#include "xbarkit/circuit/devices.hpp"

namespace xbarkit::transient {

MvsGateCharge::MvsGateCharge(const netlist::FinfetParams& p, int nfin) {
  const double phit = circuit::k_boltzmann * p.temperature_K / circuit::q_electron;
  c_ox_F_ = nfin * p.w_m * p.leff_m * p.cg_F_per_m2;
  vt0_ = p.vt0_V;
  n_phit_ = p.n0 * phit;
  alpha_phit_ = p.alpha * phit;
}

void MvsGateCharge::eval(double v, double& q_C, double& c_F) const {
  const double u = (v - (vt0_ - alpha_phit_ / 2)) / alpha_phit_;
  const double ff = 1 / (1 + std::exp(u));
  const double eta = (v - (vt0_ - ff * alpha_phit_)) / n_phit_;
  // ln(1 + e^eta) and its derivative sigma(eta), written to stay finite for any eta.
  const double softplus = eta > 0 ? eta + std::log1p(std::exp(-eta)) : std::log1p(std::exp(eta));
  const double sigma = eta > 0 ? 1 / (1 + std::exp(-eta)) : std::exp(eta) / (1 + std::exp(eta));
  q_C = c_ox_F_ * n_phit_ * softplus;
  // d eta / dV = (1 + alpha phit dFF/dV) / (n phit), dFF/dV = -FF (1 - FF) / (alpha phit).
  c_F = c_ox_F_ * sigma * (1 - ff * (1 - ff));
}

double MvsGateCharge::charge(double v) const {
  double q, c;
  eval(v, q, c);
  return q;
}

}  // namespace xbarkit::transient
