// The float GEMM kernel built with -mavx2 -mfma (see CMakeLists.txt); only called after a run-time
// CPU check. Eigen's namespace is renamed here so its AVX2 template instantiations stay distinct
// from the baseline ones in every other translation unit.
#ifdef XBARKIT_NN_HAVE_AVX2_KERNEL
#define Eigen xbarkit_nn_eigen_avx2
#include <Eigen/Core>

namespace xbarkit::nn::avx2 {
#include "gemm_kernel.inc"
void sgemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c, int ldc) {
  eigen_gemm<float>(ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}
}  // namespace xbarkit::nn::avx2
#endif
