#include "xbarkit/sc/update.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/sc/count_kernel.hpp"
#include "xbarkit/sc/stream_kernel.hpp"

namespace xbarkit::sc {

namespace {
// Memory the packed streams of one outer product may take (both operands).
constexpr double kMaxStreamBytes = 8e9;
}  // namespace

namespace {

// The operand scales of a batch x n tensor v: per column (max over the batch) with Scaling::row_col,
// else the tensor's max in every entry. Throws on a non-finite value.
std::vector<double> operand_scales(std::span<const float> v, size_t batch, size_t n, Scaling scaling, const char* what) {
  std::vector<double> s(n, 0.0);
  for (size_t b = 0; b < batch; ++b)
    for (size_t i = 0; i < n; ++i) {
      const float f = v[b * n + i];
      if (!std::isfinite(f)) throw Error(fmt::format("SC update: {} contains a non-finite value", what));
      s[i] = std::max(s[i], static_cast<double>(std::fabs(f)));
    }
  if (scaling == Scaling::tensor) std::fill(s.begin(), s.end(), *std::max_element(s.begin(), s.end()));
  return s;
}

// The scale a stream divides by: an all-zero operand (scale 0) is encoded as 0 (p = 1/2) with scale 1;
// its products are then multiplied by the true scale 0.
double encode_scale(double s) { return s > 0 ? s : 1.0; }

// The counting is an XNOR-popcount "GEMM": with the streams stored sample-major per row and per column
// (Gt[r] = the B*W words of row r's streams for every sample, At[c] likewise), counter (r, c) is
// sum_k popcount(~(Gt[r][k] ^ At[c][k])) over k < B*W. Stream tails beyond L are zero in both
// operands, so each sample's last word adds exactly 64 W - L spurious ones, removed at the end
// instead of masking every word. A 2 x 4 register tile reads 6 words per 8 products, so the loop
// runs from cache like a float GEMM kernel. This is the portable kernel, built twice (with the POPCNT
// instruction, chosen at run time, and without); the AVX2 and AVX-512 ones and the choice between
// them are in count_kernel.hpp.
template <int R, int C>
__attribute__((always_inline)) inline void count_tile(const uint64_t* const* g, const uint64_t* const* a, size_t K,
                                                      uint64_t* out /* R x C, row stride C */) {
  uint64_t acc[R][C] = {};
  for (size_t k = 0; k < K; ++k) {
    uint64_t gw[R], aw[C];
    for (int i = 0; i < R; ++i) gw[i] = g[i][k];
    for (int j = 0; j < C; ++j) aw[j] = a[j][k];
    for (int i = 0; i < R; ++i)
      for (int j = 0; j < C; ++j) acc[i][j] += static_cast<uint64_t>(std::popcount(~(gw[i] ^ aw[j])));
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) out[i * C + j] = acc[i][j];
}

// Rows [r0, r1) of the counters: TR x TC tiles, 1 x 1 for the edges.
constexpr int TR = 2, TC = 4;  // 8 accumulators + 6 operands fit the 16 general registers
__attribute__((always_inline)) inline void count_rows_generic(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1,
                                                      size_t cols, size_t K, uint64_t* counts) {
  size_t r = r0;
  for (; r + TR <= r1; r += TR) {
    const uint64_t* g[TR];
    for (int i = 0; i < TR; ++i) g[i] = Gt + (r + i) * K;
    size_t c = 0;
    for (; c + TC <= cols; c += TC) {
      const uint64_t* a[TC];
      for (int j = 0; j < TC; ++j) a[j] = At + (c + j) * K;
      uint64_t t[TR * TC];
      count_tile<TR, TC>(g, a, K, t);
      for (int i = 0; i < TR; ++i)
        for (int j = 0; j < TC; ++j) counts[(r + i) * cols + c + j] += t[i * TC + j];
    }
    for (; c < cols; ++c) {
      const uint64_t* a[1] = {At + c * K};
      uint64_t t[TR];
      count_tile<TR, 1>(g, a, K, t);
      for (int i = 0; i < TR; ++i) counts[(r + i) * cols + c] += t[i];
    }
  }
  for (; r < r1; ++r)
    for (size_t c = 0; c < cols; ++c) {
      const uint64_t* g[1] = {Gt + r * K};
      const uint64_t* a[1] = {At + c * K};
      uint64_t t;
      count_tile<1, 1>(g, a, K, &t);
      counts[r * cols + c] += t;
    }
}

void count_rows_portable(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K,
                         uint64_t* counts) {
  count_rows_generic(Gt, At, r0, r1, cols, K, counts);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) void count_rows_popcnt(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1,
                                                         size_t cols, size_t K, uint64_t* counts) {
  count_rows_generic(Gt, At, r0, r1, cols, K, counts);
}
const bool kHavePopcnt = __builtin_cpu_supports("popcnt");
#endif
#if defined(XBARKIT_SC_HAVE_AVX2_KERNEL)
const bool kHaveAvx2 = __builtin_cpu_supports("avx2");
#endif

// The streams of one sample's n operands v[i] (device i of `devices` for CBRAM), stream i at
// out + i * stride. The generator is copied into a local so its state stays in registers through the
// comparator loop.
template <bool Ideal>
void make_streams(const CbramStreamArray* devices, const float* v, double sign, size_t n, const double* scale,
                  Rng& rng_io, uint64_t* out, size_t stride, size_t W, size_t L, int bits) {
  Rng rng = rng_io;
  for (size_t i = 0; i < n; ++i)
    fill_threshold(out + i * stride, W, L,
                   detail::operand_threshold<Ideal>(devices, i, sign * static_cast<double>(v[i]), scale[i], bits), bits,
                   rng);
  rng_io = rng;
}

}  // namespace

detail::CountKernel detail::best_count_kernel() {
  static const CountKernel best = [] {
    // XBARKIT_SC_COUNT=avx512|avx2|portable forces a kernel (benchmarks compare them in one run); a
    // value this CPU cannot run, or an unknown one, is an error rather than a silent fallback.
    if (const char* e = std::getenv("XBARKIT_SC_COUNT")) {
      const std::string v = e;
      const CountKernel k = v == "avx512" ? CountKernel::avx512
                            : v == "avx2" ? CountKernel::avx2
                            : v == "portable" ? CountKernel::portable
                                              : throw Error(fmt::format("XBARKIT_SC_COUNT={}: expected avx512, avx2 or portable", v));
      if (!have_count_kernel(k)) throw Error(fmt::format("XBARKIT_SC_COUNT={}: this CPU does not run that kernel", v));
      return k;
    }
    return have_avx512_count() ? CountKernel::avx512
           : have_count_kernel(CountKernel::avx2) ? CountKernel::avx2
                                                  : CountKernel::portable;
  }();
  return best;
}

bool detail::have_count_kernel(CountKernel k) {
  switch (k) {
    case CountKernel::avx512: return have_avx512_count();
#if defined(XBARKIT_SC_HAVE_AVX2_KERNEL)
    case CountKernel::avx2: return kHaveAvx2;
#else
    case CountKernel::avx2: return false;
#endif
    default: return true;
  }
}

void detail::count_rows(const uint64_t* Gt, const uint64_t* At, size_t r0, size_t r1, size_t cols, size_t K,
                        uint64_t* counts, CountKernel kernel) {
  if (kernel == CountKernel::automatic) kernel = best_count_kernel();
  if (!have_count_kernel(kernel)) throw Error("SC update: the requested counting kernel does not run on this CPU");
  if (kernel == CountKernel::avx512) return count_rows_avx512(Gt, At, r0, r1, cols, K, counts);
#if defined(XBARKIT_SC_HAVE_AVX2_KERNEL)
  if (kernel == CountKernel::avx2) return count_rows_avx2(Gt, At, r0, r1, cols, K, counts);
#endif
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHavePopcnt) return count_rows_popcnt(Gt, At, r0, r1, cols, K, counts);
#endif
  count_rows_portable(Gt, At, r0, r1, cols, K, counts);
}

void detail::make_streams_portable(const CbramStreamArray* devices, const float* v, double sign, size_t n,
                                   const double* scale, Rng& rng, uint64_t* out, size_t stride, size_t W, size_t L,
                                   int bits) {
  if (devices) make_streams<false>(devices, v, sign, n, scale, rng, out, stride, W, L, bits);
  else make_streams<true>(devices, v, sign, n, scale, rng, out, stride, W, L, bits);
}

ScOuterProduct::ScOuterProduct(size_t rows, size_t cols, const UpdateOptions& options)
    : rows_(rows), cols_(cols), options_(options) {
  if (rows == 0 || cols == 0) throw Error("SC update: the layer needs at least one row and one column");
  if (options.stream_length == 0) throw Error("SC update: stream_length must be > 0");
  detail::best_count_kernel();  // a bad XBARKIT_SC_COUNT is reported here, before any work
  quantize_probability(0.5, options.probability_bits);
  if (options.source == UpdateOptions::Source::cbram) {
    if (!options.device) throw Error("SC update: the CBRAM source needs a device");
    CbramArrayOptions ro;
    ro.devices = rows;
    ro.seed = derive_seed(options.seed, 0x726f7773);  // "rows"
    ro.calibration = options.calibration;
    ro.calibration_trials = options.calibration_trials;
    ro.probability_bits = options.probability_bits;
    ro.pulse_resolution_s = options.pulse_resolution_s;
    CbramArrayOptions co = ro;
    co.devices = cols;
    co.seed = derive_seed(options.seed, 0x636f6c73);  // "cols"
    row_devices_ = std::make_unique<CbramStreamArray>(*options.device, ro);
    col_devices_ = std::make_unique<CbramStreamArray>(*options.device, co);
  }
}

void ScOuterProduct::check(std::span<const float> delta, std::span<const float> x, size_t batch, size_t out_size) const {
  if (batch == 0) throw Error("SC update: batch must be > 0");
  if (delta.size() != batch * rows_)
    throw Error(fmt::format("SC update: delta has {} values, expected batch {} x rows {}", delta.size(), batch, rows_));
  if (x.size() != batch * cols_)
    throw Error(fmt::format("SC update: x has {} values, expected batch {} x cols {}", x.size(), batch, cols_));
  if (out_size != rows_ * cols_)
    throw Error(fmt::format("SC update: output has {} values, expected rows {} x cols {}", out_size, rows_, cols_));
}

double ScOuterProduct::chop_sign(uint64_t step, size_t sample) const {
  if (!options_.chop) return 1.0;
  return Rng(options_.seed, derive_seed(derive_seed(step, sample), 3))() >> 63 ? -1.0 : 1.0;
}

double ScOuterProduct::bit_probability(bool row, size_t i, double p) const {
  if (options_.source == UpdateOptions::Source::ideal) return quantized_value(p, options_.probability_bits);
  return (row ? row_devices_ : col_devices_)->bit_probability(i, p);
}

size_t ScOuterProduct::stream_block(size_t batch) const {
  // Streams are made and counted a block of samples at a time, the block's streams (both operands)
  // sized to stay in the L2 cache while the counting tiles sweep them (a conv layer's im2col batch
  // has ~20,000 samples: holding all its streams at once meant tens of MB, written once and read by
  // every row pair from memory). At least 128 words per stream and block, so that the counting tiles'
  // setup stays small against their inner loop. The block size depends only on the layer and L.
  constexpr size_t kBlockWords = size_t{1} << 16;  // 512 KB of streams per block
  const size_t W = words_for(options_.stream_length);
  const size_t block = std::max<size_t>(kBlockWords / ((rows_ + cols_) * W), (128 + W - 1) / W);
  return std::min(block, batch);
}

void ScOuterProduct::compute(std::span<const float> delta, std::span<const float> x, size_t batch, uint64_t step,
                             std::span<float> out) const {
  check(delta, x, batch, out.size());
  const auto sd = operand_scales(delta, batch, rows_, options_.scaling, "delta");
  const auto sx = operand_scales(x, batch, cols_, options_.scaling, "x");
  std::vector<double> ed(rows_), ex(cols_);
  std::transform(sd.begin(), sd.end(), ed.begin(), encode_scale);
  std::transform(sx.begin(), sx.end(), ex.begin(), encode_scale);
  const size_t L = options_.stream_length, W = words_for(L);
  const size_t per_sample = (rows_ + cols_) * W;
  const size_t block = stream_block(batch);
  const double block_bytes = double(per_sample) * double(block) * sizeof(uint64_t);
  if (block_bytes > kMaxStreamBytes)
    throw Error(fmt::format("SC update: streams of length {} for a {}x{} layer, per block of {} samples, need {:.1f} GB "
                            "(limit {:.0f} GB); use a shorter stream length or a smaller batch",
                            L, rows_, cols_, block, block_bytes / 1e9, kMaxStreamBytes / 1e9));
  const bool ideal = options_.source == UpdateOptions::Source::ideal;
  const bool events = !ideal && row_devices_->device().reset_failure_probability > 0;
  const int bits = options_.probability_bits;
  // One stream per (side, row or column, sample): the request p = (1 + v / s) / 2 (v / s is in
  // [-1, 1] by the choice of s), its comparator threshold (ideal: round(p 2^bits); CBRAM: the device's
  // probability for that request, CbramStreamArray::threshold), and the comparator's words from the
  // sample's own random source.
  auto make = [&](const CbramStreamArray* devices, const float* v, double sign, size_t n, const double* s, Rng& rng,
                  uint64_t* w, size_t stride) {
    if (events) {
      for (size_t i = 0; i < n; ++i)
        devices->generate(i, 0.5 * (sign * v[i] / s[i] + 1), L, rng, std::span<uint64_t>(w + i * stride, W));
      return;
    }
    detail::make_streams_portable(ideal ? nullptr : devices, v, sign, n, s, rng, w, stride, W, L, bits);
  };
  constexpr size_t kRowBlock = 16;
  const unsigned threads = options_.threads == 0 ? default_threads() : options_.threads;
  // Samples are handed out in groups of detail::kStreamLanes = 8, the lanes of the AVX-512 stream maker
  // (a partial last group, and CPUs without AVX-512, take the portable loop, which makes the same
  // words). One contiguous range of groups per thread: the streams of neighbouring samples share
  // cache lines (a row's words are sample-major), so handing out single samples made the threads
  // write the same lines; with whole ranges they share at most the lines at a range's two ends.
  constexpr size_t G = detail::kStreamLanes;
  const bool simd = !events && detail::have_avx512_streams();
  // The streams of samples [b0, b0 + nb) into Gt / At (stride K = nb W), counted into `counts`, on
  // `inner` threads.
  auto run_block = [&](size_t b0, uint64_t* Gt, uint64_t* At, uint64_t* counts, unsigned inner) {
    const size_t nb = std::min(block, batch - b0), K = nb * W;
    auto group_chunk = [&](size_t groups) { return (groups + inner - 1) / inner; };
    // Streams: one random source per (step, sample, side), so the result does not depend on the
    // thread count, the block size or the stream maker; stored sample-major per row / column for the
    // counting loop.
    auto make_sample = [&](size_t j) {
      const size_t b = b0 + j;
      Rng rg(options_.seed, derive_seed(derive_seed(step, b), 1));
      Rng ra(options_.seed, derive_seed(derive_seed(step, b), 2));
      const double sign = chop_sign(step, b);
      make(row_devices_.get(), &delta[b * rows_], sign, rows_, ed.data(), rg, &Gt[j * W], K);
      make(col_devices_.get(), &x[b * cols_], sign, cols_, ex.data(), ra, &At[j * W], K);
    };
    auto make_group = [&](size_t j0) {  // samples j0 .. j0 + 7 in the vector lanes
      uint64_t sg[4][G], sa[4][G];
      double sign[G];
      const float *dv[G], *xv[G];
      for (size_t k = 0; k < G; ++k) {
        const size_t b = b0 + j0 + k;
        const auto g = Rng(options_.seed, derive_seed(derive_seed(step, b), 1)).state();
        const auto a = Rng(options_.seed, derive_seed(derive_seed(step, b), 2)).state();
        for (int q = 0; q < 4; ++q) sg[q][k] = g.s[q], sa[q][k] = a.s[q];
        sign[k] = chop_sign(step, b);
        dv[k] = &delta[b * rows_];
        xv[k] = &x[b * cols_];
      }
      detail::make_streams_x8_avx512(ideal ? nullptr : row_devices_.get(), dv, sign, rows_, ed.data(), sg,
                                     &Gt[j0 * W], K, W, L, bits);
      detail::make_streams_x8_avx512(ideal ? nullptr : col_devices_.get(), xv, sign, cols_, ex.data(), sa,
                                     &At[j0 * W], K, W, L, bits);
    };
    const size_t groups = (nb + G - 1) / G;
    parallel_for(groups, inner, [&](size_t g) {
      const size_t j0 = g * G, j1 = std::min(nb, j0 + G);
      if (simd && j1 - j0 == G) return make_group(j0);
      for (size_t j = j0; j < j1; ++j) make_sample(j);
    }, group_chunk(groups));
    // Counters: integer sums, so the order of blocks and threads does not change them.
    parallel_for((rows_ + kRowBlock - 1) / kRowBlock, inner, [&](size_t blk) {
      const size_t r0 = blk * kRowBlock, r1 = std::min(rows_, r0 + kRowBlock);
      detail::count_rows(Gt, At, r0, r1, cols_, K, counts);
    });
  };
  // Two ways to put the blocks on threads; the counters are integers, so both give the same result.
  // With many blocks (a conv layer's im2col batch: ~50-100 per step) each thread makes and counts
  // whole blocks, taken in turn, with its own stream buffers and counters, summed at the end: one
  // parallel_for per call instead of two per block (a CNN step had ~300, each starting and joining
  // threads: ~10% of a 2-thread epoch in the kernel, and idle cores at every join), and a block's
  // streams are counted in the cache of the core that made them. With few blocks (a dense layer at
  // batch 100 is one) the threads share each block: its sample groups, then its rows.
  // Each whole-block thread holds one block's streams: no more threads than the stream memory limit
  // allows (so whether a layer fits never depends on the thread count).
  const size_t blocks = (batch + block - 1) / block;
  unsigned workers = blocks >= 2 * size_t{threads} ? threads : 1;
  workers = static_cast<unsigned>(std::clamp<double>(std::floor(kMaxStreamBytes / block_bytes), 1.0, workers));
  const unsigned inner = workers == 1 ? threads : 1;
  std::vector<std::vector<uint64_t>> counts_of(workers, std::vector<uint64_t>(rows_ * cols_, 0));
  std::atomic<size_t> next_block{0};
  parallel_for(workers, workers, [&](size_t t) {
    // Every stream word is written before it is counted: no zero-fill.
    std::unique_ptr<uint64_t[]> Gt, At;
    try {
      for (size_t b; (b = next_block.fetch_add(1)) < blocks;) {
        if (!Gt) {
          Gt = std::make_unique_for_overwrite<uint64_t[]>(rows_ * block * W);
          At = std::make_unique_for_overwrite<uint64_t[]>(cols_ * block * W);
        }
        run_block(b * block, Gt.get(), At.get(), counts_of[t].data(), inner);
      }
    } catch (...) {
      next_block = blocks;  // the other threads stop after their current block
      throw;
    }
  });
  std::vector<uint64_t>& counts = counts_of[0];
  for (size_t t = 1; t < workers; ++t)
    for (size_t k = 0; k < counts.size(); ++k) counts[k] += counts_of[t][k];
  const uint64_t tail_ones = static_cast<uint64_t>(batch) * (64 * W - L);
  const double inv = 2.0 / (static_cast<double>(batch) * static_cast<double>(L));
  for (size_t r = 0; r < rows_; ++r)
    for (size_t c = 0; c < cols_; ++c) {
      const size_t k = r * cols_ + c;
      const double scale = sd[r] * sx[c];  // 0: an all-zero row or column, an exact +0 (not 0 x noise)
      out[k] = scale == 0 ? 0.0f : static_cast<float>(scale * (static_cast<double>(counts[k] - tail_ones) * inv - 1.0));
    }
}

void ScOuterProduct::expectation(std::span<const float> delta, std::span<const float> x, size_t batch,
                                 std::span<double> mean, std::span<double> stddev) const {
  check(delta, x, batch, mean.size());
  if (stddev.size() != mean.size()) throw Error("SC update expectation: stddev and mean differ in size");
  if (row_devices_ && row_devices_->device().reset_failure_probability > 0)
    throw Error("SC update expectation: no closed form for CBRAM generators whose RESET can fail "
                "(reset_failure_probability > 0); estimate it from repeated compute() calls");
  const auto sd = operand_scales(delta, batch, rows_, options_.scaling, "delta");
  const auto sx = operand_scales(x, batch, cols_, options_.scaling, "x");
  std::fill(mean.begin(), mean.end(), 0.0);
  std::fill(stddev.begin(), stddev.end(), 0.0);
  std::vector<double> pg(rows_), pa(cols_);
  const double L = static_cast<double>(options_.stream_length), B = static_cast<double>(batch);
  // With chopping, sample b's operands are both negated with probability 1/2: its XNOR bits are
  // Bernoulli(q+) or Bernoulli(q-), so its count has mean L (q+ + q-)/2 and variance
  // L E[q (1 - q)] + L^2 (q+ - q-)^2 / 4 (the law of total variance over the chop bit).
  std::vector<double> ng(rows_), na(cols_);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t r = 0; r < rows_; ++r) {
      const double v = delta[b * rows_ + r] / encode_scale(sd[r]);
      pg[r] = bit_probability(true, r, to_probability(v, Encoding::bipolar));
      if (options_.chop) ng[r] = bit_probability(true, r, to_probability(-v, Encoding::bipolar));
    }
    for (size_t c = 0; c < cols_; ++c) {
      const double v = x[b * cols_ + c] / encode_scale(sx[c]);
      pa[c] = bit_probability(false, c, to_probability(v, Encoding::bipolar));
      if (options_.chop) na[c] = bit_probability(false, c, to_probability(-v, Encoding::bipolar));
    }
    for (size_t r = 0; r < rows_; ++r)
      for (size_t c = 0; c < cols_; ++c) {
        const double q = pg[r] * pa[c] + (1 - pg[r]) * (1 - pa[c]);  // P(XNOR = 1), independent streams
        if (!options_.chop) {
          mean[r * cols_ + c] += (2 * q - 1) / B;
          stddev[r * cols_ + c] += 4 * q * (1 - q) / (B * B * L);  // variance, summed over the batch
          continue;
        }
        const double qn = ng[r] * na[c] + (1 - ng[r]) * (1 - na[c]);
        mean[r * cols_ + c] += (q + qn - 1) / B;
        stddev[r * cols_ + c] += (2 * (q * (1 - q) + qn * (1 - qn)) / L + (q - qn) * (q - qn)) / (B * B);
      }
  }
  for (size_t r = 0; r < rows_; ++r)
    for (size_t c = 0; c < cols_; ++c) {
      const size_t k = r * cols_ + c;
      mean[k] *= sd[r] * sx[c];
      stddev[k] = sd[r] * sx[c] * std::sqrt(stddev[k]);
    }
}

void float_outer_product(std::span<const float> delta, std::span<const float> x, size_t batch, size_t rows,
                         size_t cols, std::span<float> out) {
  if (delta.size() != batch * rows || x.size() != batch * cols || out.size() != rows * cols || batch == 0)
    throw Error("float_outer_product: sizes do not match batch x rows, batch x cols, rows x cols");
  std::vector<double> acc(rows * cols, 0.0);
  for (size_t b = 0; b < batch; ++b)
    for (size_t r = 0; r < rows; ++r) {
      const double d = delta[b * rows + r];
      for (size_t c = 0; c < cols; ++c) acc[r * cols + c] += d * x[b * cols + c];
    }
  for (size_t k = 0; k < acc.size(); ++k) out[k] = static_cast<float>(acc[k] / static_cast<double>(batch));
}

}  // namespace xbarkit::sc
