// Converter "adc:BUNDLE": n-bit current-mode ADC from an `adc` bundle (characterize/kind_adc.cpp):
// each column of each crossbar array on chip k (SimConfig::chip) uses an ADC instance drawn from the
// bundle's population by a hash of (k, layer, tile, column group, column); code = number of its
// thresholds <= I;
// count = the code's partial_sum (codes table), rounded.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::imc {
namespace {

class AdcConverter : public Converter {
public:
  AdcConverter(const std::string& dir, const ConverterSetup& setup) : name_("adc:" + dir) {
    const auto b = lut::load_bundle(dir);
    if (b.kind != "adc") throw Error(fmt::format("converter adc:{}: bundle kind is '{}', expected 'adc'", dir, b.kind));
    const auto& thr = b.table("column_thresholds");
    const auto& codes = b.table("codes");
    const int rows = b.info.value("rows", 0);
    if (rows > 0 && rows != setup.rows)
      throw Error(fmt::format("converter adc:{}: the ADC was characterized for {}-row columns, the simulated array "
                              "has {} rows; characterize an ADC for {} rows (adc recipe: array_lut/array_config)",
                              dir, rows, setup.rows, setup.rows));
    instances_ = int(thr.axes()[0].points.size());
    levels_ = int(thr.axes()[1].points.size());
    thresholds_.resize(size_t(instances_) * size_t(levels_));
    const size_t tc = thr.column_index("threshold_A");
    for (size_t i = 0; i < thresholds_.size(); ++i) {
      thresholds_[i] = thr.value(i, tc);
      if (!std::isfinite(thresholds_[i]))
        throw Error(fmt::format("converter adc:{}: ADC instance {} has no thresholds (its characterization point "
                                "failed; see 'xbarkit lut check {}')", dir, i / size_t(levels_), dir));
    }
    const size_t n = codes.axes()[0].points.size();
    if (int(n) != levels_ + 1) throw Error(fmt::format("converter adc:{}: {} codes for {} thresholds", dir, n, levels_));
    for (size_t c = 0; c < n; ++c) {
      if (codes.has_column("partial_sum"))
        count_of_code_.push_back(codes.value(c, codes.column_index("partial_sum")));
      else
        count_of_code_.push_back(codes.value(c, codes.column_index("ideal_center_A")) / setup.cell_current_A);
      // clamp_round(v, max_count) == min(max_count, clamp_round(v, kBig)) for max_count <= kBig.
      rounded_.push_back(clamp_round(count_of_code_.back(), kBig));
    }
  }
  std::string name() const override { return name_; }
  int count(double current_A, const ConvertContext& ctx, Rng&) const override {
    const double* t = thresholds_.data() + step_row(ctx) * size_t(levels_);
    const int code = int(std::upper_bound(t, t + levels_, current_A) - t);
    return clamp_round(count_of_code_[size_t(code)], ctx.max_count);
  }
  int step_levels() const override { return levels_; }
  const double* step_table() const override { return thresholds_.data(); }
  size_t step_table_rows() const override { return size_t(instances_); }
  const int* step_counts() const override { return rounded_.data(); }
  // A chip is one draw from the characterized population: every column of every crossbar array
  // (layer, tile, column group) gets an instance chosen by a hash of its position and the chip
  // index, so arrays of one chip do not share converters and chips differ.
  size_t step_row(const ConvertContext& ctx) const override {
    const uint64_t array = derive_seed(derive_seed(ctx.chip, uint64_t(ctx.layer_slot) << 32 | uint64_t(ctx.tile)),
                                       uint64_t(ctx.column_group));
    return size_t(derive_seed(array, uint64_t(ctx.column)) % uint64_t(instances_));
  }

private:
  static constexpr int kBig = 1 << 30;
  std::vector<int> rounded_;           // clamp_round(count_of_code_, kBig)
  std::string name_;
  int instances_ = 0, levels_ = 0;
  std::vector<double> thresholds_;     // instance × threshold, ascending per instance
  std::vector<double> count_of_code_;  // code -> conducting-count estimate
};

}  // namespace

XBARKIT_REGISTER_CONVERTER(adc, "adc", "adc:BUNDLE", "n-bit current-mode ADC with its characterized thresholds",
                           [](const std::string& args, const ConverterSetup& setup) -> std::unique_ptr<Converter> {
                             if (args.empty()) throw Error("converter adc:BUNDLE needs the ADC bundle directory");
                             return std::make_unique<AdcConverter>(args, setup);
                           })

}  // namespace xbarkit::imc
