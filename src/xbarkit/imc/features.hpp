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

// rows R; mask: (R + 63) / 64 words, no bits at or beyond R. `column` and `active_rows` are copied
// into the result for the column / activity axes.
lut::ColumnFeatures mask_features(const uint64_t* mask, int rows, int cols, int column, int active_rows,
                                  FeatureNeeds needs = {true, true, true});

}  // namespace xbarkit::imc
