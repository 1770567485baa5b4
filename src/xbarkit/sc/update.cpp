#include "xbarkit/sc/update.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::sc {

namespace {

double max_abs(std::span<const float> v, const char* what) {
  double m = 0;
  for (float f : v) {
    if (!std::isfinite(f)) throw Error(fmt::format("SC update: {} contains a non-finite value", what));
    m = std::max(m, static_cast<double>(std::fabs(f)));
  }
  return m;
}

// counts[c] += popcount(XNOR(g, a[c])) over the words of one stream pair; the tail bits beyond L are
// masked (XNOR of two zero tails is 1). Two builds of the same loop: with the POPCNT instruction
// (chosen at run time) and portable.
template <int Words>
inline void count_row_fixed(const uint64_t* g, const uint64_t* a, size_t cols, uint64_t mask, uint32_t* counts) {
  for (size_t c = 0; c < cols; ++c) {
    uint32_t n = 0;
    for (int w = 0; w < Words - 1; ++w) n += static_cast<uint32_t>(std::popcount(~(g[w] ^ a[c * Words + w])));
    n += static_cast<uint32_t>(std::popcount(~(g[Words - 1] ^ a[c * Words + Words - 1]) & mask));
    counts[c] += n;
  }
}

inline void count_row_any(const uint64_t* g, const uint64_t* a, size_t cols, size_t words, uint64_t mask,
                          uint32_t* counts) {
  for (size_t c = 0; c < cols; ++c) {
    uint32_t n = 0;
    for (size_t w = 0; w + 1 < words; ++w) n += static_cast<uint32_t>(std::popcount(~(g[w] ^ a[c * words + w])));
    n += static_cast<uint32_t>(std::popcount(~(g[words - 1] ^ a[c * words + words - 1]) & mask));
    counts[c] += n;
  }
}

inline void count_all(const uint64_t* G, const uint64_t* A, size_t rows, size_t cols, size_t words, uint64_t mask,
                      uint32_t* counts) {
  for (size_t r = 0; r < rows; ++r) {
    const uint64_t* g = G + r * words;
    uint32_t* cr = counts + r * cols;
    switch (words) {
      case 1: count_row_fixed<1>(g, A, cols, mask, cr); break;
      case 2: count_row_fixed<2>(g, A, cols, mask, cr); break;
      case 4: count_row_fixed<4>(g, A, cols, mask, cr); break;
      default: count_row_any(g, A, cols, words, mask, cr);
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt"))) void count_all_popcnt(const uint64_t* G, const uint64_t* A, size_t rows,
                                                         size_t cols, size_t words, uint64_t mask, uint32_t* counts) {
  count_all(G, A, rows, cols, words, mask, counts);
}
const bool kHavePopcnt = __builtin_cpu_supports("popcnt");
#endif

void count_dispatch(const uint64_t* G, const uint64_t* A, size_t rows, size_t cols, size_t words, uint64_t mask,
                    uint32_t* counts) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (kHavePopcnt) return count_all_popcnt(G, A, rows, cols, words, mask, counts);
#endif
  count_all(G, A, rows, cols, words, mask, counts);
}

}  // namespace

ScOuterProduct::ScOuterProduct(size_t rows, size_t cols, const UpdateOptions& options)
    : rows_(rows), cols_(cols), options_(options) {
  if (rows == 0 || cols == 0) throw Error("SC update: the layer needs at least one row and one column");
  if (options.stream_length == 0) throw Error("SC update: stream_length must be > 0");
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

double ScOuterProduct::bit_probability(bool row, size_t i, double p) const {
  if (options_.source == UpdateOptions::Source::ideal) return quantized_value(p, options_.probability_bits);
  return (row ? row_devices_ : col_devices_)->bit_probability(i, p);
}

void ScOuterProduct::compute(std::span<const float> delta, std::span<const float> x, size_t batch, uint64_t step,
                             std::span<float> out) const {
  check(delta, x, batch, out.size());
  if (static_cast<double>(batch) * static_cast<double>(options_.stream_length) > 4294967295.0)
    throw Error(fmt::format("SC update: batch {} x L {} bits overflow the 32-bit counters", batch, options_.stream_length));
  const double sd = max_abs(delta, "delta"), sx = max_abs(x, "x");
  if (sd == 0 || sx == 0) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  const size_t L = options_.stream_length, W = words_for(L);
  const uint64_t mask = tail_mask(L);
  std::vector<uint64_t> G(rows_ * W), A(cols_ * W);
  std::vector<uint32_t> counts(rows_ * cols_, 0);
  const bool ideal = options_.source == UpdateOptions::Source::ideal;
  for (size_t b = 0; b < batch; ++b) {
    // One random stream per (step, sample, side): the result does not depend on how a caller splits
    // the batch across calls of other layers.
    Rng rg(options_.seed, derive_seed(derive_seed(step, b), 1));
    Rng ra(options_.seed, derive_seed(derive_seed(step, b), 2));
    for (size_t r = 0; r < rows_; ++r) {
      const double p = to_probability(delta[b * rows_ + r] / sd, Encoding::bipolar);
      std::span<uint64_t> w(G.data() + r * W, W);
      if (ideal) fill_bernoulli(w, L, p, options_.probability_bits, rg);
      else row_devices_->generate(r, p, L, rg, w);
    }
    for (size_t c = 0; c < cols_; ++c) {
      const double p = to_probability(x[b * cols_ + c] / sx, Encoding::bipolar);
      std::span<uint64_t> w(A.data() + c * W, W);
      if (ideal) fill_bernoulli(w, L, p, options_.probability_bits, ra);
      else col_devices_->generate(c, p, L, ra, w);
    }
    count_dispatch(G.data(), A.data(), rows_, cols_, W, mask, counts.data());
  }
  const double scale = sd * sx, inv = 2.0 / (static_cast<double>(batch) * static_cast<double>(L));
  for (size_t k = 0; k < out.size(); ++k) out[k] = static_cast<float>(scale * (counts[k] * inv - 1.0));
}

void ScOuterProduct::expectation(std::span<const float> delta, std::span<const float> x, size_t batch,
                                 std::span<double> mean, std::span<double> stddev) const {
  check(delta, x, batch, mean.size());
  if (stddev.size() != mean.size()) throw Error("SC update expectation: stddev and mean differ in size");
  const double sd = max_abs(delta, "delta"), sx = max_abs(x, "x");
  std::fill(mean.begin(), mean.end(), 0.0);
  std::fill(stddev.begin(), stddev.end(), 0.0);
  if (sd == 0 || sx == 0) return;
  std::vector<double> pg(rows_), pa(cols_);
  const double L = static_cast<double>(options_.stream_length), B = static_cast<double>(batch);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t r = 0; r < rows_; ++r)
      pg[r] = bit_probability(true, r, to_probability(delta[b * rows_ + r] / sd, Encoding::bipolar));
    for (size_t c = 0; c < cols_; ++c)
      pa[c] = bit_probability(false, c, to_probability(x[b * cols_ + c] / sx, Encoding::bipolar));
    for (size_t r = 0; r < rows_; ++r)
      for (size_t c = 0; c < cols_; ++c) {
        const double q = pg[r] * pa[c] + (1 - pg[r]) * (1 - pa[c]);  // P(XNOR = 1), independent streams
        mean[r * cols_ + c] += (2 * q - 1) / B;
        stddev[r * cols_ + c] += 4 * q * (1 - q) / (B * B * L);  // variance, summed over the batch
      }
  }
  for (size_t k = 0; k < mean.size(); ++k) {
    mean[k] *= sd * sx;
    stddev[k] = sd * sx * std::sqrt(stddev[k]);
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
