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
  }
  std::string name() const override { return "calibrated"; }
  int count(double current_A, const ConvertContext& ctx, Rng&) const override {
    const int c = int(std::upper_bound(bounds_.begin(), bounds_.end(), current_A) - bounds_.begin());
    return std::min(c, ctx.max_count);
  }
  bool step_thresholds(const ConvertContext&, std::vector<double>& th) const override {
    th = bounds_;
    return true;
  }

private:
  std::vector<double> bounds_;
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
