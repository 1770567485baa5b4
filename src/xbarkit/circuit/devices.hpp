#pragma once
// Cell devices of the native solver, with the same equations and parameters as the shipped SPICE
// models, each returning its current and the partial derivatives Newton needs.
//
//  - MVS 1.0.1 n-FinFET (models/spice/mvs_nfet.lib, docs/REFERENCES.md §1): the intrinsic current
//    Ib(Vgs', Vds') of the B-source, symmetric in drain/source, plus the series resistances
//    Rs = Rd = rs0/(w*nfin) that the SPICE subcircuit places as real resistors to internal nodes.
//  - Stanford/ASU ReRAM, DC read (models/spice/reram_stanford.lib, docs/REFERENCES.md §3).
//
// A transistor with its series resistances is an implicit device: with Id the current into the
// drain, the internal nodes sit at V(si) = Vs + Id*Rs and V(di) = Vd - Id*Rd, and
//     g(Id; Vd, Vg, Vs) = Id - Ib(Vg - V(si), V(di) - V(si)) = 0.
// g is strictly increasing in Id, so the root is unique; the solvers carry Id as an unknown (one per
// transistor) instead of the two internal nodes of the SPICE subcircuit, which is the same circuit.
#include <cmath>

#include "xbarkit/netlist/technology.hpp"

namespace xbarkit::circuit {

// A current and its partial derivatives with respect to two controlling voltages.
struct IV2 {
  double i = 0;
  double d1 = 0;
  double d2 = 0;
};

// Residual g of an implicit two-terminal branch a -> b carrying current I (from a to b), with its
// partial derivatives: g_i = dg/dI, g_a = dg/dVa, g_b = dg/dVb.
struct BranchResidual {
  double g = 0;
  double g_i = 0;
  double g_a = 0;
  double g_b = 0;
};

// ln(1 + y) for y = exp(eta) >= 0 as mvs_nfet.lib's lnx(y) writes it: below 1e-5 the series
// y (1 - y (1/2 - y/3)) (truncation y^4/4, < 2.5e-16 relative), above it ln(1 + y). In deep
// subthreshold (y < 1e-8) ln(1 + y) evaluated as written keeps only the bits of y that survive the
// rounding of 1 + y: a staircase in the gate voltage with steps of up to 100% of the current, whose
// value disagrees with its smooth derivative and stalls ngspice's Newton (docs/VALIDATION.md).
inline double mvs_ln1p(double y) { return y < 1e-5 ? y * (1 - y * (0.5 - y / 3)) : std::log(1 + y); }

class MvsFet {
public:
  MvsFet() = default;
  MvsFet(const netlist::FinfetParams& p, int nfin);

  // Intrinsic B-source current from internal drain to internal source, as mvs_nfet.lib writes it:
  // d1 = dI/dVgs', d2 = dI/dVds', where Vgs' = V(g,si) and Vds' = V(di,si) (either sign).
  IV2 intrinsic(double vgs, double vds) const;
  // Residual of the transistor with series resistances (drain d, gate g, source s), current id
  // into the drain.
  BranchResidual residual(double id, double vd, double vg, double vs) const;
  // The drain current at fixed terminal voltages (safeguarded Newton on the residual; converges to
  // ~1e-15 relative). Also returns dId/dVd (d1) and dId/dVs (d2).
  IV2 current(double vd, double vg, double vs) const;

  // residual() for n transistors at once (arrays of length n; outputs may not alias inputs).
  // Vectorized (devices_batch.cpp: SIMD exp/log/pow from glibc's libmvec, AVX2 where the CPU has
  // it); agrees with residual() to a few ulp.
  void residual_batch(int n, const double* id, const double* vd, const double* vg, const double* vs, double* g,
                      double* g_i, double* g_a, double* g_b) const;

  double r_side_ohm() const { return rside_; }
  double phit_V() const { return phit_; }

private:
  // Forward-direction current (vds >= 0) with partials, as idf(vgs, vds) in mvs_nfet.lib.
  IV2 idf(double vgs, double vds) const;

  double nfin_w_vx0_ = 0;
  double vt0_ = 0, delta_ = 0, alpha_phit_ = 0, n_phit_ = 0, cg_n_phit_ = 0, vsat_ = 0, beta_ = 1, phit_ = 0;
  double rside_ = 0;
};

// out[k] = exp(in[k]) for k < n, vectorized like MvsFet::residual_batch (a few ulp).
void exp_batch(int n, const double* in, double* out);
// sh[k] = sinh(in[k]), ch[k] = cosh(in[k]) for k < n, vectorized likewise (Reram::eval in batches).
void sinh_cosh_batch(int n, const double* in, double* sh, double* ch);

// Stanford ReRAM, DC read: I = i0 exp(-gap/g0) sinh(V/v0) from p to n.
class Reram {
public:
  Reram() = default;
  Reram(const netlist::ReramParams& p, double gap_m);
  // Current for V = V(p) - V(n) and dI/dV.
  void eval(double v, double& i, double& di_dv) const;
  double scale_A() const { return k_; }          // i0 exp(-gap/g0)
  // The same device with its resistance times exp(ln_r) (a gap shift of g0 ln_r; variation.hpp).
  Reram with_ln_r(double ln_r) const {
    Reram r = *this;
    r.k_ *= std::exp(-ln_r);
    return r;
  }
  double inv_v0_per_V() const { return inv_v0_; }

private:
  double k_ = 0;  // i0 exp(-gap/g0)
  double inv_v0_ = 0;
};

// Boltzmann constant and elementary charge exactly as mvs_nfet.lib writes them (SI 2019 values).
inline constexpr double k_boltzmann = 1.380649e-23;
inline constexpr double q_electron = 1.602176634e-19;

}  // namespace xbarkit::circuit
