#include "xbarkit/imc/features.hpp"

#include <array>
#include <vector>

namespace xbarkit::imc {
namespace {

// Per byte value v (rows 8b..8b+7 of a mask): set bits, and the sums over its 8 rows of the
// inclusive (s) and strict (u) prefix counts and of their squares; Σ of set bit positions.
struct ByteTables {
  std::array<uint8_t, 256> pop{};
  std::array<uint16_t, 256> s1{}, s2{}, u1{}, u2{}, pos{};
  ByteTables() {
    for (int v = 0; v < 256; ++v) {
      int c = 0;
      for (int i = 0; i < 8; ++i) {
        const int bit = (v >> i) & 1;
        u1[v] = uint16_t(u1[v] + c);
        u2[v] = uint16_t(u2[v] + c * c);
        c += bit;
        s1[v] = uint16_t(s1[v] + c);
        s2[v] = uint16_t(s2[v] + c * c);
        if (bit) pos[v] = uint16_t(pos[v] + i);
      }
      pop[v] = uint8_t(c);
    }
  }
};
const ByteTables kT;

}  // namespace

namespace detail {

const uint32_t* chunk16_table() {
  static const std::vector<uint32_t> table = [] {
    std::vector<uint32_t> t(size_t(1) << 16);
    for (uint32_t v = 0; v < t.size(); ++v) {
      uint32_t c = 0, s1 = 0, s2 = 0;
      for (int i = 0; i < 16; ++i) {
        c += (v >> i) & 1u;
        s1 += c;
        s2 += c * c;
      }
      t[v] = c | s1 << 5 | s2 << 13;
    }
    return t;
  }();
  return table.data();
}

}  // namespace detail

// Built with and without the popcnt instruction, chosen at load time (runs on any x86-64).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
lut::ColumnFeatures mask_features(const uint64_t* mask, int rows, int cols, int column, int active_rows,
                                  FeatureNeeds needs) {
  lut::ColumnFeatures f;
  f.rows = rows;
  f.cols = cols;
  f.column = column;
  f.active_rows = active_rows;
  const int words = (rows + 63) / 64;
  long long k = 0;
  for (int w = 0; w < words; ++w) k += __builtin_popcountll(mask[w]);
  f.k = int(k);
  if (!needs.load_bottom && !needs.load_top && !needs.sum_distance) return f;
  if (needs.load_bottom && !needs.load_top && !needs.sum_distance) {  // the sram8t (k, q) case
    f.load_bottom = bottom_load(mask, rows);
    return f;
  }
  long long P = 0, bottom = 0, top = 0, sumpos = 0;
  const int full_bytes = rows / 8;
  for (int b = 0; b < full_bytes; ++b) {
    const unsigned v = unsigned(mask[b / 8] >> (8 * (b % 8))) & 0xffu;
    bottom += 8 * P * P + 2 * P * kT.s1[v] + kT.s2[v];
    const long long K = k - P;
    top += 8 * K * K - 2 * K * kT.u1[v] + kT.u2[v];
    sumpos += 8LL * b * kT.pop[v] + kT.pos[v];
    P += kT.pop[v];
  }
  for (int r = full_bytes * 8; r < rows; ++r) {  // rows not a multiple of 8: the last rows one by one
    const long long K = k - P;  // conducting rows >= r
    top += K * K;
    const bool bit = (mask[r / 64] >> (r % 64)) & 1;
    if (bit) {
      ++P;
      sumpos += r;
    }
    bottom += P * P;
  }
  if (needs.load_bottom) f.load_bottom = bottom;
  if (needs.load_top) f.load_top = top;
  if (needs.sum_distance) f.sum_distance = k * rows - sumpos;
  return f;
}

}  // namespace xbarkit::imc
