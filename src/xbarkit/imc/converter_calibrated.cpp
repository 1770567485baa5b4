// Converter "calibrated": an ideal-resolution converter calibrated to the array's mean transfer:
// count = the k whose LUT mean current I_mean(k) (transfer table of the array_ps bundle) is nearest
// to I. Needs the array_ps bundle; removes the systematic IR-drop loss, not the pattern-dependent
// spread.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::imc {
namespace {

class CalibratedConverter : public Converter {
public:
  CalibratedConverter(const lut::ArrayPsLut& array, const lut::ArrayPsConfig& cfg) {
    const auto& tr = array.bundle().table(cfg.transfer_table);
    std::vector<double> mean(size_t(cfg.rows) + 1);
    for (int k = 0; k <= cfg.rows; ++k) {
      const double x = k;
      mean[size_t(k)] = tr.interpolate(std::span<const double>(&x, 1), "mean_A", lut::Interp::monotone_cubic);
    }
    for (double m : mean)
      if (!std::isfinite(m))
        throw Error(fmt::format("calibrated converter: the mean transfer {} of {} has non-finite values",
                                cfg.transfer_table, array.bundle().dir.string()));
    // The Monte-Carlo mean can wiggle where the transfer saturates: make it non-decreasing by pooling
    // adjacent violators (isotonic least squares), then decide between neighbouring counts halfway.
    std::vector<double> val, wt;
    std::vector<size_t> len;
    for (double m : mean) {
      val.push_back(m);
      wt.push_back(1);
      len.push_back(1);
      while (val.size() > 1 && val[val.size() - 2] > val.back()) {
        const size_t b = val.size() - 1;
        val[b - 1] = (val[b - 1] * wt[b - 1] + val[b] * wt[b]) / (wt[b - 1] + wt[b]);
        wt[b - 1] += wt[b];
        len[b - 1] += len[b];
        val.pop_back();
        wt.pop_back();
        len.pop_back();
      }
    }
    std::vector<double> iso;
    for (size_t i = 0; i < val.size(); ++i) iso.insert(iso.end(), len[i], val[i]);
    for (size_t k = 1; k < iso.size(); ++k) bounds_.push_back(0.5 * (iso[k - 1] + iso[k]));
    // Buckets of equal current width (four per bound), each with the count at its lower edge: a read
    // starts its search there and steps over the bounds in between (usually none or one), instead of
    // a binary search per read. The result is exactly std::upper_bound's.
    if (!bounds_.empty() && bounds_.back() > 0) {
      const size_t nb = 4 * bounds_.size();
      inv_width_ = double(nb) / bounds_.back();
      for (size_t b = 0; b < nb; ++b)
        start_.push_back(int(std::upper_bound(bounds_.begin(), bounds_.end(), double(b) / inv_width_) - bounds_.begin()));
    }
  }
  std::string name() const override { return "calibrated"; }
  int count(double current_A, const ConvertContext& ctx, Rng&) const override {
    return std::min(upper_count(current_A), ctx.max_count);
  }
  bool step_thresholds(const ConvertContext&, std::vector<double>& th) const override {
    th = bounds_;
    return true;
  }

private:
  // The number of bounds <= I (std::upper_bound), through the buckets when I lies inside them.
  int upper_count(double I) const {
    const int n = int(bounds_.size());
    if (!start_.empty() && I >= 0 && I < bounds_.back()) {
      int c = start_[std::min(start_.size() - 1, size_t(I * inv_width_))];
      if (c == 0 || bounds_[size_t(c) - 1] <= I) {  // the bucket edge is at or below I (rounding)
        while (c < n && bounds_[size_t(c)] <= I) ++c;
        return c;
      }
    }
    return int(std::upper_bound(bounds_.begin(), bounds_.end(), I) - bounds_.begin());
  }
  std::vector<double> bounds_;
  std::vector<int> start_;  // per bucket: bounds below its lower edge
  double inv_width_ = 0;
};

}  // namespace

XBARKIT_REGISTER_CONVERTER(calibrated, "calibrated", "calibrated",
                           "nearest count of the array_ps bundle's mean transfer (needs the array LUT)",
                           [](const std::string& args, const ConverterSetup& setup) -> std::unique_ptr<Converter> {
                             reject_arguments("calibrated", args);
                             if (!setup.array || !setup.array_config)
                               throw Error("converter 'calibrated' needs an array_ps bundle (it inverts the array's "
                                           "mean transfer)");
                             return std::make_unique<CalibratedConverter>(*setup.array, *setup.array_config);
                           })

}  // namespace xbarkit::imc
