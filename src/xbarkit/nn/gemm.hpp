#pragma once
// Row-major GEMM for the trainer: C (m×n) = op(A) · op(B), op = transpose or not. float runs on an
// AVX2+FMA build of Eigen's kernel when the CPU has it (checked once at run time; set
// XBARKIT_NN_GENERIC_GEMM=1 to force the baseline x86-64 kernel), double always on the baseline one.
// Results of the two float kernels differ in rounding, so training is bit-reproducible for a seed on
// the same kernel (any thread count), not across CPU kinds.
#include <string>

namespace xbarkit::nn {

void gemm(bool trans_a, bool trans_b, int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
          int ldc);
void gemm(bool trans_a, bool trans_b, int m, int n, int k, const double* a, int lda, const double* b, int ldb, double* c,
          int ldc);
// "avx2+fma" or "generic": which float kernel gemm() uses.
std::string gemm_kernel_name();

}  // namespace xbarkit::nn
