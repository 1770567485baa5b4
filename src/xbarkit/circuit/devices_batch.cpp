// MvsFet::residual for many transistors at once. This file is compiled with -ffast-math
// -fopenmp-simd (circuit/CMakeLists.txt) so that GCC vectorizes the loop and calls glibc's vector
// exp/log/pow (libmvec, <= 4 ulp); target_clones adds AVX-512 (8 lanes, libmvec's _ZGVeN8v_*) and
// AVX2 (4 lanes) versions, one chosen at load time by the CPU (the result differs only by those ulp). The loop
// is branch-free (both drain/source orientations blend by select) and never produces inf/nan for
// the voltages of a crossbar (|exponents| < 100); the caller checks finiteness of what it uses.
#include <cmath>

#include "xbarkit/circuit/devices.hpp"

namespace xbarkit::circuit {

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define XBK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define XBK_CLONES
#endif

XBK_CLONES
void MvsFet::residual_batch(int n, const double* __restrict id, const double* __restrict vd,
                            const double* __restrict vg, const double* __restrict vs, double* __restrict g,
                            double* __restrict g_i, double* __restrict g_a, double* __restrict g_b) const {
  const double rside = rside_, vt0 = vt0_, delta = delta_, aphit = alpha_phit_, nphit = n_phit_;
  const double inv_aphit = 1 / aphit, inv_nphit = 1 / nphit, cgn = cg_n_phit_, vsat = vsat_, phit = phit_;
  const double beta = beta_, minus_inv_beta = -1 / beta_, k = nfin_w_vx0_;
#pragma omp simd
  for (int j = 0; j < n; ++j) {
    // Internal nodes and the orientation (mvs_nfet.lib: idf in the direction of positive V(di,si)).
    const double vsi = vs[j] + id[j] * rside, vdi = vd[j] - id[j] * rside;
    const double vgs0 = vg[j] - vsi, vds0 = vdi - vsi;
    const bool rev = vds0 < 0;
    const double vgs = rev ? vgs0 - vds0 : vgs0, vds = rev ? -vds0 : vds0;
    // idf(vgs, vds), as MvsFet::idf.
    const double ez = std::exp((vgs - (vt0 - delta * vds - aphit / 2)) * inv_aphit);
    const double ff = 1 / (1 + ez);
    const double dff_dz = -ff * ff * ez;
    const double ff_g = dff_dz * inv_aphit, ff_d = dff_dz * delta * inv_aphit;
    const double eeta = std::exp((vgs - (vt0 - delta * vds - ff * aphit)) * inv_nphit);
    const double qix = cgn * mvs_ln1p(eeta);
    const double dq_deta = cgn * eeta / (1 + eeta);
    const double q_g = dq_deta * (1 + aphit * ff_g) * inv_nphit;
    const double q_d = dq_deta * (delta + aphit * ff_d) * inv_nphit;
    const double vdsat = vsat - (vsat - phit) * ff;
    const double inv_vdsat = 1 / vdsat;
    const double vdsat_g = (phit - vsat) * ff_g, vdsat_d = (phit - vsat) * ff_d;
    const double r = vds * inv_vdsat;
    const double r_g = -r * vdsat_g * inv_vdsat, r_d = inv_vdsat - r * vdsat_d * inv_vdsat;
    // pow through exp/log (libmvec's vector pow costs ~4 exp): r^b = exp(b ln r), (1+r^b)^(-1/b).
    const double rr = r > 1e-300 ? r : 1e-300;
    const double s = 1 + std::exp(beta * std::log(rr));
    const double p = std::exp(minus_inv_beta * std::log(s));  // (1 + r^b)^(-1/b)
    const double fsat = r * p;
    const double fsat_r = p / s;                   // d fsat / dr = (1 + r^b)^(-1/b - 1)
    const double i = k * qix * fsat;
    const double d1 = k * (q_g * fsat + qix * fsat_r * r_g);
    const double d2 = k * (q_d * fsat + qix * fsat_r * r_d);
    // Back to the transistor's orientation: -idf(V(g,di), V(si,di)) when V(di,si) < 0.
    const double bi = rev ? -i : i, b1 = rev ? -d1 : d1, b2 = rev ? d1 + d2 : d2;
    g[j] = id[j] - bi;
    g_i[j] = 1 + b1 * rside + b2 * 2 * rside;
    g_a[j] = -b2;
    g_b[j] = b1 + b2;
  }
}

XBK_CLONES
void exp_batch(int n, const double* __restrict in, double* __restrict out) {
#pragma omp simd
  for (int k = 0; k < n; ++k) out[k] = std::exp(in[k]);
}

XBK_CLONES
void sinh_cosh_batch(int n, const double* __restrict in, double* __restrict sh, double* __restrict ch) {
#pragma omp simd
  for (int k = 0; k < n; ++k) sh[k] = std::sinh(in[k]), ch[k] = std::cosh(in[k]);
}

}  // namespace xbarkit::circuit
