#include "xbarkit/sc/stream.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit::sc {

double to_probability(double value, Encoding e) {
  if (e == Encoding::unipolar) {
    if (!(value >= 0 && value <= 1))
      throw Error(fmt::format("unipolar SC value {} is outside [0, 1]", value));
    return value;
  }
  if (!(value >= -1 && value <= 1)) throw Error(fmt::format("bipolar SC value {} is outside [-1, 1]", value));
  return 0.5 * (value + 1);
}

namespace {
void same_length(const Stream& a, const Stream& b, const char* op) {
  if (a.length != b.length)
    throw Error(fmt::format("SC {}: streams of {} and {} bits (they must be equally long)", op, a.length, b.length));
}
template <class F>
Stream bitwise(const Stream& a, const Stream& b, F f) {
  Stream out(a.length);
  for (size_t w = 0; w < out.words.size(); ++w) out.words[w] = f(a.words[w], b.words[w]);
  if (!out.words.empty()) out.words.back() &= tail_mask(out.length);
  return out;
}
}  // namespace

Stream sc_and(const Stream& a, const Stream& b) {
  same_length(a, b, "AND");
  return bitwise(a, b, [](uint64_t x, uint64_t y) { return x & y; });
}

Stream sc_xnor(const Stream& a, const Stream& b) {
  same_length(a, b, "XNOR");
  return bitwise(a, b, [](uint64_t x, uint64_t y) { return ~(x ^ y); });
}

Stream sc_not(const Stream& a) {
  return bitwise(a, a, [](uint64_t x, uint64_t) { return ~x; });
}

Stream sc_mux(const Stream& a, const Stream& b, const Stream& sel) {
  same_length(a, b, "MUX");
  same_length(a, sel, "MUX select");
  Stream out(a.length);
  for (size_t w = 0; w < out.words.size(); ++w) out.words[w] = (a.words[w] & ~sel.words[w]) | (b.words[w] & sel.words[w]);
  return out;
}

double scc(const Stream& a, const Stream& b) {
  same_length(a, b, "SCC");
  const double n = static_cast<double>(a.length);
  const double pa = a.probability(), pb = b.probability();
  const double pab = static_cast<double>(sc_and(a, b).count()) / n;
  const double d = pab - pa * pb;
  if (d > 0) {
    const double den = std::min(pa, pb) - pa * pb;
    return den > 0 ? d / den : 0.0;
  }
  const double den = pa * pb - std::max(pa + pb - 1, 0.0);
  return den > 0 ? d / den : 0.0;
}

}  // namespace xbarkit::sc
