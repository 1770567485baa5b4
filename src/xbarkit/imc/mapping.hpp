#pragma once
// Layer-to-crossbar mapping of binary layers, with BinSparX flips (docs/REFERENCES.md §6).
//
// A binary layer computes z_o = w_o · x for ±1 weights w (out × N) and ±1 inputs x (one im2col patch
// per conv position). Its N inputs are cut into tile slices of n_t inputs; slice t of output o lives
// in one crossbar column of tile t (R rows), so a column read yields the partial sum of one slice and
// the tiles' partial sums are added digitally.
//
// Every array is AND-style: cell (row, column) conducts iff its row input is 1 and it stores 1.
//  - XNOR mapping: two rows per input (n_t = R/2). Slice input i uses rows 2i (input x_i = +1 with
//    stored w_i = +1) and 2i+1 (input x̄, stored w̄): exactly one of them conducts iff x_i == w_i, so
//    the conducting count c gives w·x = 2c − n over the slice (n = slice size).
//  - AND mapping: one row per input (n_t = R). Row i conducts iff x_i = +1 and w_i = +1, and
//    w·x = 4c − 2·Σ[w=+1] − 2·Σ[x=+1] + n (docs/REFERENCES.md §6); Σ[w=+1] is known at mapping time and
//    Σ[x=+1] is counted digitally.
// BinSparX (training-free, exact with ideal hardware):
//  - static: per tile column (o, t), if the weight slice has more +1 than −1, store −w and negate
//    that column's partial sum digitally;
//  - dynamic: per input slice t (at run time, per input vector), if it has more +1 than −1, apply −x
//    and negate the partial sums of every column of that tile.
// Both can be on at once (the signs multiply). Unused rows of a last, partial tile stay inactive.
//  - static, data-aware (binsparx.hpp; not in the paper): the same per-column flip, chosen per tile
//    column from activation statistics of training images and the characterized LUT so that the
//    expected squared output error is smallest (LayerMapping::set_flips applies the choice).
//
// Bits: a tile column is `words` 64-bit words, bit r of word r/64 = row r (row 0 at the top, row R−1
// next to the sense end).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "xbarkit/nn/network.hpp"

namespace xbarkit::imc {

enum class Mapping { Xnor, And };
std::string to_string(Mapping m);
Mapping parse_mapping(const std::string& s);  // "xnor" | "and"; throws Error otherwise

struct BinSparX {
  bool static_flip = false;
  bool dynamic_flip = false;
  // Static flips chosen from data (binsparx.hpp) instead of the paper's weight-majority rule.
  bool data_aware = false;
};
// "none" | "static" | "dynamic" | "both" | "static-data" | "both-data"
std::string to_string(BinSparX b);
BinSparX parse_binsparx(const std::string& s);
inline const char* kBinSparXModes = "none | static | dynamic | both | static-data | both-data";

class LayerMapping {
public:
  LayerMapping() = default;
  LayerMapping(const nn::BinaryLayer& layer, Mapping mapping, int rows, bool static_flip);

  Mapping mapping() const { return mapping_; }
  int rows() const { return rows_; }
  int words() const { return words_; }
  int outputs() const { return outs_; }
  int fan_in() const { return fan_in_; }
  int tiles() const { return tiles_; }
  int inputs_per_tile() const { return per_tile_; }
  int slice_begin(int t) const { return t * per_tile_; }
  int slice_size(int t) const { return std::min(per_tile_, fan_in_ - t * per_tile_); }
  // Rows a slice occupies (2 per input for XNOR).
  int rows_used(int t) const { return mapping_ == Mapping::Xnor ? 2 * slice_size(t) : slice_size(t); }

  // Stored bits of column (o, t), after static flips and without them.
  const uint64_t* stored(int t, int o) const { return stored_.data() + cell(t, o); }
  const uint64_t* stored_plain(int t, int o) const { return plain_.data() + cell(t, o); }
  bool flipped(int t, int o) const { return flip_[size_t(t) * size_t(outs_) + size_t(o)] != 0; }
  // Σ[w = +1] over the slice as stored (after the static flip) and as in the network.
  int weight_plus(int t, int o) const { return wplus_[size_t(t) * size_t(outs_) + size_t(o)]; }
  int weight_plus_plain(int t, int o) const { return wplus_plain_[size_t(t) * size_t(outs_) + size_t(o)]; }
  // The bits column (o, t) would store with the static flip `flip` (words words into `out`), and its
  // Σ[w = +1] as stored then.
  void stored_variant(int t, int o, bool flip, uint64_t* out) const;
  int weight_plus_variant(int t, int o, bool flip) const {
    return flip ? slice_size(t) - weight_plus_plain(t, o) : weight_plus_plain(t, o);
  }
  // Replaces the static flips (tiles × outputs, index t · outputs + o; non-zero = flip).
  void set_flips(const std::vector<uint8_t>& flips);
  const std::vector<uint8_t>& flips() const { return flip_; }
  // Stored ±1 weight of input i of the slice (after flips), as the array holds it.
  int8_t stored_weight(int t, int o, int i) const;

  // Drives slice t of the ±1 vector x (length fan_in) onto the rows: writes `words` words of active
  // rows to `active`, negating x when `flip`. Returns Σ[x = +1] of the slice as applied.
  int activate(const int8_t* x, int t, bool flip, uint64_t* active) const;
  // Σ[x = +1] over slice t of x (before any flip).
  int count_plus(const int8_t* x, int t) const;
  // Drives slice t with BinSparX's dynamic rule when `dynamic`: the slice is negated iff it has more
  // +1 than −1. Returns Σ[x = +1] as applied and whether it was negated.
  struct Drive {
    int x_plus = 0;
    bool flipped = false;
  };
  Drive drive(const int8_t* x, int t, bool dynamic, uint64_t* active) const {
    const bool flip = dynamic && 2 * count_plus(x, t) > slice_size(t);
    return {activate(x, t, flip, active), flip};
  }

  // The slice's partial sum from a conducting count c (exact for the true count), before the flip
  // signs: XNOR 2c − n, AND 4c − 2 W+ − 2 X+ + n.
  int partial_sum(int t, int o, int c, int x_plus) const {
    const int n = slice_size(t);
    return mapping_ == Mapping::Xnor ? 2 * c - n : 4 * c - 2 * weight_plus(t, o) - 2 * x_plus + n;
  }
  // Largest possible conducting count of a column of slice t.
  int max_count(int t) const { return slice_size(t); }

private:
  size_t cell(int t, int o) const { return (size_t(t) * size_t(outs_) + size_t(o)) * size_t(words_); }
  Mapping mapping_ = Mapping::Xnor;
  int rows_ = 0, words_ = 0, outs_ = 0, fan_in_ = 0, tiles_ = 0, per_tile_ = 0;
  std::vector<uint64_t> stored_, plain_;   // tiles × outs × words
  std::vector<uint8_t> flip_;              // tiles × outs
  std::vector<int> wplus_, wplus_plain_;   // tiles × outs
};

inline int popcount_and(const uint64_t* a, const uint64_t* b, int words) {
  int c = 0;
  for (int w = 0; w < words; ++w) c += __builtin_popcountll(a[w] & b[w]);
  return c;
}

}  // namespace xbarkit::imc
