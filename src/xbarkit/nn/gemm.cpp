#include "xbarkit/nn/gemm.hpp"

#include <cstdlib>

#include <Eigen/Core>

namespace xbarkit::nn {

namespace generic {
#include "gemm_kernel.inc"
}  // namespace generic

#ifdef XBARKIT_NN_HAVE_AVX2_KERNEL
namespace avx2 {
void sgemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc);
}
static bool use_avx2() {
  static const bool yes = [] {
    const char* env = std::getenv("XBARKIT_NN_GENERIC_GEMM");
    if (env && *env && std::string(env) != "0") return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }();
  return yes;
}
#else
static bool use_avx2() { return false; }
#endif

void gemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  if (m == 0 || n == 0) return;
#ifdef XBARKIT_NN_HAVE_AVX2_KERNEL
  if (use_avx2()) return avx2::sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
#endif
  generic::eigen_gemm<float>(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}

void gemm(bool ta, bool tb, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double* c, int ldc) {
  if (m == 0 || n == 0) return;
  generic::eigen_gemm<double>(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}

std::string gemm_kernel_name() { return use_avx2() ? "avx2+fma" : "generic"; }

}  // namespace xbarkit::nn
