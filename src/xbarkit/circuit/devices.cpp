#include "xbarkit/circuit/devices.hpp"

#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::circuit {

MvsFet::MvsFet(const netlist::FinfetParams& p, int nfin) {
  // .param phit = {1.380649e-23*tdev/1.602176634e-19}; .param rside = {rs0/(w*nfin)}
  phit_ = k_boltzmann * p.temperature_K / q_electron;
  rside_ = p.rs0_ohm_m / (p.w_m * nfin);
  nfin_w_vx0_ = nfin * p.w_m * p.vx0_m_per_s;
  vt0_ = p.vt0_V;
  delta_ = p.delta;
  alpha_phit_ = p.alpha * phit_;
  n_phit_ = p.n0 * phit_;
  cg_n_phit_ = p.cg_F_per_m2 * p.n0 * phit_;
  vsat_ = p.vx0_m_per_s * p.leff_m / p.mu_m2_per_Vs;
  beta_ = p.beta;
}

// mvs_nfet.lib, term by term (same operation order, so values agree to rounding):
//   ff    = 1/(1+exp((vgs-(vt0-delta*vds-alpha*phit/2))/(alpha*phit)))
//   qix   = cg*n0*phit*lnx(exp((vgs-(vt0-delta*vds-ff*alpha*phit))/(n0*phit)))   (lnx: mvs_ln1p)
//   vdsat = vx0*leff/mu-(vx0*leff/mu-phit)*ff
//   fsat  = (vds/vdsat)/pwr(1+pwr(vds/vdsat,beta),1/beta)
//   idf   = nfin*w*vx0*qix*fsat
IV2 MvsFet::idf(double vgs, double vds) const {
  const double ez = std::exp((vgs - (vt0_ - delta_ * vds - alpha_phit_ / 2)) / alpha_phit_);
  const double ff = 1 / (1 + ez);
  const double dff_dz = -ff * ff * ez;  // d/dz of 1/(1+e^z)
  const double ff_g = dff_dz / alpha_phit_, ff_d = dff_dz * delta_ / alpha_phit_;

  const double eeta = std::exp((vgs - (vt0_ - delta_ * vds - ff * alpha_phit_)) / n_phit_);
  const double qix = cg_n_phit_ * mvs_ln1p(eeta);
  const double dq_deta = cg_n_phit_ * eeta / (1 + eeta);
  const double q_g = dq_deta * (1 + alpha_phit_ * ff_g) / n_phit_;
  const double q_d = dq_deta * (delta_ + alpha_phit_ * ff_d) / n_phit_;

  const double vdsat = vsat_ - (vsat_ - phit_) * ff;
  const double vdsat_g = (phit_ - vsat_) * ff_g, vdsat_d = (phit_ - vsat_) * ff_d;

  const double r = vds / vdsat;
  const double r_g = -r * vdsat_g / vdsat, r_d = 1 / vdsat - r * vdsat_d / vdsat;
  const double s = 1 + std::pow(r, beta_);
  const double fsat = r / std::pow(s, 1 / beta_);
  const double dfsat_dr = fsat / (r > 0 ? r : 1) / s;  // (1+r^b)^(-1/b-1); r = 0 handled below
  const double fsat_r = r > 0 ? dfsat_dr : 1.0;

  IV2 out;
  out.i = nfin_w_vx0_ * qix * fsat;
  out.d1 = nfin_w_vx0_ * (q_g * fsat + qix * fsat_r * r_g);
  out.d2 = nfin_w_vx0_ * (q_d * fsat + qix * fsat_r * r_d);
  return out;
}

// Bid di si I = V(di,si) >= 0 ? idf(V(g,si),V(di,si)) : -idf(V(g,di),V(si,di))
IV2 MvsFet::intrinsic(double vgs, double vds) const {
  if (vds >= 0) return idf(vgs, vds);
  // V(g,di) = vgs - vds, V(si,di) = -vds.
  const IV2 f = idf(vgs - vds, -vds);
  return {-f.i, -f.d1, f.d1 + f.d2};
}

BranchResidual MvsFet::residual(double id, double vd, double vg, double vs) const {
  const double vsi = vs + id * rside_, vdi = vd - id * rside_;
  const IV2 b = intrinsic(vg - vsi, vdi - vsi);
  BranchResidual r;
  r.g = id - b.i;
  r.g_i = 1 + b.d1 * rside_ + b.d2 * 2 * rside_;
  r.g_a = -b.d2;
  r.g_b = b.d1 + b.d2;
  return r;
}

IV2 MvsFet::current(double vd, double vg, double vs) const {
  // g(Id) is increasing; g(0) = -Ib(Vgs, Vds) and g((Vd-Vs)/(2 rside)) = Id (Vds' = 0 there), so
  // the root lies between 0 and (Vd-Vs)/(2 rside).
  double lo = 0, hi = (vd - vs) / (2 * rside_);
  if (lo > hi) std::swap(lo, hi);
  if (lo == hi) {
    const auto r = residual(0, vd, vg, vs);
    return {0, -r.g_a / r.g_i, -r.g_b / r.g_i};
  }
  double id = 0;
  BranchResidual r{};
  for (int it = 0; it < 300; ++it) {
    r = residual(id, vd, vg, vs);
    if (r.g == 0) break;
    if (r.g > 0) hi = id; else lo = id;
    double next = id - r.g / r.g_i;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);  // Newton left the bracket: bisect
    const double step = std::abs(next - id);
    id = next;
    if (step <= 1e-15 * std::abs(id) || hi - lo <= 1e-15 * std::max(std::abs(lo), std::abs(hi))) {
      r = residual(id, vd, vg, vs);
      break;
    }
  }
  return {id, -r.g_a / r.g_i, -r.g_b / r.g_i};
}

Reram::Reram(const netlist::ReramParams& p, double gap_m)
    : k_(p.i0_A * std::exp(-gap_m / p.g0_m)), inv_v0_(1 / p.v0_V) {}

// Bcell p n I = i0*exp(-gap/g0)*sinh(V(p,n)/v0)
void Reram::eval(double v, double& i, double& di_dv) const {
  i = k_ * std::sinh(v * inv_v0_);
  di_dv = k_ * std::cosh(v * inv_v0_) * inv_v0_;
}

}  // namespace xbarkit::circuit
