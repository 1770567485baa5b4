#include "xbarkit/imc/mapping.hpp"

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::imc {

std::string to_string(Mapping m) { return m == Mapping::Xnor ? "xnor" : "and"; }

Mapping parse_mapping(const std::string& s) {
  if (s == "xnor") return Mapping::Xnor;
  if (s == "and") return Mapping::And;
  throw Error(fmt::format("unknown mapping '{}' (xnor | and)", s));
}

std::string to_string(BinSparX b) {
  if (b.data_aware) return b.dynamic_flip ? "both-data" : "static-data";
  if (b.static_flip && b.dynamic_flip) return "both";
  if (b.static_flip) return "static";
  if (b.dynamic_flip) return "dynamic";
  return "none";
}

BinSparX parse_binsparx(const std::string& s) {
  if (s == "none") return {false, false};
  if (s == "static") return {true, false};
  if (s == "dynamic") return {false, true};
  if (s == "both") return {true, true};
  if (s == "static-data") return {true, false, true};
  if (s == "both-data") return {true, true, true};
  throw Error(fmt::format("unknown BinSparX mode '{}' ({})", s, kBinSparXModes));
}

LayerMapping::LayerMapping(const nn::BinaryLayer& layer, Mapping mapping, int rows, bool static_flip)
    : mapping_(mapping), rows_(rows), outs_(layer.out_channels), fan_in_(layer.fan_in) {
  if (!layer.binary()) throw Error(fmt::format("layer {} has real-valued inputs and stays digital", layer.index));
  if (rows < 2 || (mapping == Mapping::Xnor && rows % 2 != 0))
    throw Error(fmt::format("crossbar rows must be >= 2 (and even for the XNOR mapping), got {}", rows));
  if (fan_in_ < 1 || outs_ < 1) throw Error(fmt::format("layer {} has no weights", layer.index));
  words_ = (rows + 63) / 64;
  per_tile_ = mapping == Mapping::Xnor ? rows / 2 : rows;
  tiles_ = (fan_in_ + per_tile_ - 1) / per_tile_;
  const size_t cells = size_t(tiles_) * size_t(outs_);
  stored_.assign(cells * size_t(words_), 0);
  plain_.assign(cells * size_t(words_), 0);
  flip_.assign(cells, 0);
  wplus_.assign(cells, 0);
  wplus_plain_.assign(cells, 0);
  for (int t = 0; t < tiles_; ++t) {
    const int b = slice_begin(t), n = slice_size(t);
    for (int o = 0; o < outs_; ++o) {
      const size_t ci = size_t(t) * size_t(outs_) + size_t(o);
      int plus = 0;
      for (int i = 0; i < n; ++i) plus += layer.weight(o, b + i) > 0;
      const bool flip = static_flip && 2 * plus > n;  // more +1 than −1
      flip_[ci] = flip;
      wplus_plain_[ci] = plus;
      wplus_[ci] = flip ? n - plus : plus;
      uint64_t* sp = plain_.data() + ci * size_t(words_);
      uint64_t* sf = stored_.data() + ci * size_t(words_);
      for (int i = 0; i < n; ++i) {
        const bool wp = layer.weight(o, b + i) > 0;
        auto set = [](uint64_t* w, int r) { w[r / 64] |= uint64_t(1) << (r % 64); };
        if (mapping == Mapping::Xnor) {
          set(sp, wp ? 2 * i : 2 * i + 1);
          set(sf, (wp != flip) ? 2 * i : 2 * i + 1);
        } else {
          if (wp) set(sp, i);
          if (wp != flip) set(sf, i);
        }
      }
    }
  }
}

void LayerMapping::stored_variant(int t, int o, bool flip, uint64_t* out) const {
  const uint64_t* p = stored_plain(t, o);
  const int used = rows_used(t);
  for (int w = 0; w < words_; ++w) {
    const int lo = 64 * w;
    const uint64_t mask = used >= lo + 64 ? ~uint64_t(0) : (used <= lo ? 0 : (uint64_t(1) << (used - lo)) - 1);
    if (!flip) {
      out[w] = p[w];
    } else if (mapping_ == Mapping::Xnor) {  // swap rows 2i and 2i+1 (a pair never straddles a word)
      constexpr uint64_t even = 0x5555555555555555ULL;
      out[w] = (((p[w] & even) << 1) | ((p[w] >> 1) & even)) & mask;
    } else {
      out[w] = ~p[w] & mask;
    }
  }
}

void LayerMapping::set_flips(const std::vector<uint8_t>& flips) {
  if (flips.size() != flip_.size())
    throw Error(fmt::format("set_flips: {} flips for {} tile columns", flips.size(), flip_.size()));
  for (int t = 0; t < tiles_; ++t)
    for (int o = 0; o < outs_; ++o) {
      const size_t ci = size_t(t) * size_t(outs_) + size_t(o);
      flip_[ci] = flips[ci] != 0;
      wplus_[ci] = weight_plus_variant(t, o, flip_[ci]);
      stored_variant(t, o, flip_[ci], stored_.data() + ci * size_t(words_));
    }
}

int8_t LayerMapping::stored_weight(int t, int o, int i) const {
  const uint64_t* s = stored(t, o);
  const int r = mapping_ == Mapping::Xnor ? 2 * i : i;
  return ((s[r / 64] >> (r % 64)) & 1) ? 1 : -1;
}

int LayerMapping::count_plus(const int8_t* x, int t) const {
  const int b = slice_begin(t), n = slice_size(t);
  int plus = 0;
  for (int i = 0; i < n; ++i) plus += x[b + i] > 0;
  return plus;
}

int LayerMapping::activate(const int8_t* x, int t, bool flip, uint64_t* active) const {
  const int b = slice_begin(t), n = slice_size(t);
  for (int w = 0; w < words_; ++w) active[w] = 0;
  int plus = 0;
  if (mapping_ == Mapping::Xnor) {
    for (int i = 0; i < n; ++i) {
      const bool xp = (x[b + i] > 0) != flip;
      plus += xp;
      const int r = xp ? 2 * i : 2 * i + 1;
      active[r / 64] |= uint64_t(1) << (r % 64);
    }
  } else {
    for (int i = 0; i < n; ++i) {
      const bool xp = (x[b + i] > 0) != flip;
      plus += xp;
      if (xp) active[i / 64] |= uint64_t(1) << (i % 64);
    }
  }
  return plus;
}

}  // namespace xbarkit::imc
