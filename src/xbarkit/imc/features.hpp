#pragma once
// The array_ps LUT features of one column read (lut/array_ps.hpp) from the column's conducting-row
// bitmask, in O(rows / 8) table lookups instead of O(rows) per row:
//   k              conducting cells
//   load_bottom    Σ over bottom-referenced wire segments of N(s)², i.e. Σ_{b=0}^{R−1} cnt(rows ≤ b)²
//   load_top       Σ over top-referenced segments, Σ_{r=0}^{R−1} cnt(rows ≥ r)²
//   sum_distance   Σ (R − r) over conducting rows r (distance to the sense end)
// Per byte of the mask (rows 8b..8b+7, P conducting rows above it) the bottom load adds
// Σ_i (P + c_i)² = 8P² + 2P·S1 + S2 with c_i = popcount(byte & ((2 << i) − 1)) and S1, S2 their sums
// from a 256-entry table; the top load likewise with K' = k − P and the strict prefix counts.
// Equal to lut::column_features (tested).
#include <cstdint>

#include "xbarkit/lut/array_ps.hpp"

namespace xbarkit::imc {

using lut::FeatureNeeds;

namespace detail {
// Per 16-bit value v: pop | s1 << 5 | s2 << 13 (inclusive prefix counts c_i over 16 rows: pop ≤ 16,
// s1 = Σ c_i ≤ 136, s2 = Σ c_i² ≤ 1496). 256 KB, built on first use.
const uint32_t* chunk16_table();
}  // namespace detail

// load_bottom of a column from its conducting-row mask alone (the sram8t LUT's only load), inline
// for the read loop; mask_features computes the same. 16 rows per step: with P conducting rows
// above the chunk, its rows add Σ_i (P + c_i)² = 16P² + 2P·s1 + s2.
inline long long bottom_load(const uint64_t* mask, int rows) {
  static const uint32_t* const chunk = detail::chunk16_table();
  long long P = 0, bottom = 0;
  auto add_chunk = [&](unsigned v) {
    const uint32_t e = chunk[v];
    bottom += 16 * P * P + 2 * P * ((e >> 5) & 0xffu) + (e >> 13);
    P += e & 31u;
  };
  const int words = rows / 64;
  for (int w = 0; w < words; ++w) {
    const uint64_t m = mask[w];
    add_chunk(unsigned(m & 0xffffu));
    add_chunk(unsigned((m >> 16) & 0xffffu));
    add_chunk(unsigned((m >> 32) & 0xffffu));
    add_chunk(unsigned(m >> 48));
  }
  const int chunks = rows / 16;
  for (int b = words * 4; b < chunks; ++b) add_chunk(unsigned((mask[b / 4] >> (16 * (b % 4))) & 0xffffu));
  for (int r = chunks * 16; r < rows; ++r) {
    P += (mask[r / 64] >> (r % 64)) & 1;
    bottom += P * P;
  }
  return bottom;
}

// rows R; mask: (R + 63) / 64 words, no bits at or beyond R. `column` and `active_rows` are copied
// into the result for the column / activity axes.
lut::ColumnFeatures mask_features(const uint64_t* mask, int rows, int cols, int column, int active_rows,
                                  FeatureNeeds needs = {true, true, true});

}  // namespace xbarkit::imc
