// Converter "mtj:BUNDLE:L": stochastic SOT-MTJ conversion (StoX-Net: Rogers et al., arXiv 2407.12378).
// The column current is normalized to x = 2 I / (I_cell n_tile) - 1 in [-1, 1] (n_tile = inputs per
// tile) and mapped linearly onto the MTJ's write current, I_w = I50 + 2a s x with the bundle's
// logistic fit (I50, s) and a = 4, so P_sw follows (1 + tanh(a x)) / 2 as in StoX-Net when the device
// is logistic. Each read takes L Bernoulli samples of the device's P_sw(I_w) (the bundle's measured
// P_sw table when it has one, else the fit); their mean p (clamped to [1/2L, 1 - 1/2L]) is inverted
// through the calibrated logistic back to x and to a count. As L grows the count tends to the ideal
// converter's. L may differ per binary layer: "mtj:B:4,8,16" (the last value repeats for later
// layers). BUNDLE may name a fit: DIR@sot_pma_7nm_10ns (default: the bundle's first logistic fit);
// the measured curve is that fit's device and pulse row of the "<device>_psw" table
// (characterize/kind_mtj_psw.cpp). "mtj:stox:L" uses the ideal StoX-Net logistic (no bundle).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::imc {
namespace {

class MtjConverter : public Converter {
public:
  MtjConverter(const std::string& source, std::vector<int> lengths, double cell) : lengths_(std::move(lengths)),
                                                                                     cell_(cell) {
    name_ = "mtj:" + source + ":";
    for (size_t i = 0; i < lengths_.size(); ++i) name_ += (i ? "," : "") + std::to_string(lengths_[i]);
    if (source == "stox") {
      x50_ = 0;
      scale_ = 1;
      return;
    }
    // "DIR" or "DIR@FIT" (a fit name of the bundle, e.g. sot_pma_7nm_10ns; default: its first logistic fit).
    std::string dir = source, want;
    if (const auto at = source.rfind('@'); at != std::string::npos) {
      dir = source.substr(0, at);
      want = source.substr(at + 1);
    }
    const auto b = lut::load_bundle(dir);
    if (b.kind != "mtj_psw")
      throw Error(fmt::format("converter mtj:{}: bundle kind is '{}', expected 'mtj_psw'", source, b.kind));
    const lut::NamedFit* fit = nullptr;
    std::string names;
    for (const auto& f : b.fits) {
      if (f.fit.kind != "logistic") continue;
      names += (names.empty() ? "" : ", ") + f.name;
      if (!fit && (want.empty() || f.name == want)) fit = &f;
    }
    if (!fit)
      throw Error(fmt::format("converter mtj:{}: no logistic P_sw fit{} in the bundle (it has: {}); use mtj:stox:L "
                              "for the ideal StoX-Net curve", source, want.empty() ? "" : " named " + want,
                              names.empty() ? "none" : names));
    fit_name_ = fit->name;
    x50_ = fit->fit.param("x50");
    scale_ = fit->fit.param("scale");
    if (!(scale_ > 0))
      throw Error(fmt::format("converter mtj:{}: logistic scale {} must be > 0", source, scale_));
    // The measured curve behind the fit: a 1-D table over the current with a p_switch column, or the
    // kind_mtj_psw layout, table "<device>_psw" (pulse_s x current_A) for fit "<device>_<pulse>ns".
    for (const auto& t : b.tables) {
      if (!t.has_column("p_switch")) continue;
      const size_t pc = t.column_index("p_switch");
      if (t.dims() == 1) {
        curve_x_ = t.axes()[0].points;
        for (size_t i = 0; i < curve_x_.size(); ++i) curve_p_.push_back(std::clamp(t.value(i, pc), 0.0, 1.0));
        break;
      }
      const auto us = fit_name_.rfind('_');
      if (t.dims() == 2 && t.axes()[0].name == "pulse_s" && t.axes()[1].name == "current_A" && us != std::string::npos &&
          t.name() == fit_name_.substr(0, us) + "_psw" && fit_name_.size() > us + 3 &&
          fit_name_.compare(fit_name_.size() - 2, 2, "ns") == 0) {
        const double pulse = std::stod(fit_name_.substr(us + 1, fit_name_.size() - us - 3)) * 1e-9;
        const auto& ps = t.axes()[0].points;
        size_t best = 0;
        for (size_t i = 1; i < ps.size(); ++i)
          if (std::abs(ps[i] - pulse) < std::abs(ps[best] - pulse)) best = i;
        curve_x_ = t.axes()[1].points;
        for (size_t i = 0; i < curve_x_.size(); ++i)
          curve_p_.push_back(std::clamp(t.value(best * curve_x_.size() + i, pc), 0.0, 1.0));
        break;
      }
    }
  }
  std::string name() const override { return name_; }
  int sampling_length(int layer_slot) const override {
    return lengths_[size_t(std::min<int>(layer_slot, int(lengths_.size()) - 1))];
  }
  // Switching events among L draws; the device input is the layer's learned affine of the normalized
  // partial sum (identity for networks not trained for it).
  double switch_probability(double current_A, const ConvertContext& ctx) const override {
    const double x = 2.0 * current_A / (cell_ * ctx.tile_capacity) - 1.0;  // normalized partial sum
    const double a = ctx.psum_gain * x + ctx.psum_offset;
    return psw(x50_ + 2.0 * kA * scale_ * a);                               // at the MTJ write current
  }
  int sample_ones(double current_A, const ConvertContext& ctx, Rng& rng) const override {
    const int L = sampling_length(ctx.layer_slot);
    const double p = switch_probability(current_A, ctx);
    int ones = 0;
    for (int i = 0; i < L; ++i) ones += rng.uniform() < p;
    return ones;
  }
  // Networks not trained for the MTJ: the mean of the samples is inverted through the calibrated
  // logistic back to a count estimate (the best an unaware digital side can do).
  int count(double current_A, const ConvertContext& ctx, Rng& rng) const override {
    const int L = sampling_length(ctx.layer_slot);
    const double n = ctx.tile_capacity;
    const int ones = sample_ones(current_A, ctx, rng);
    const double ph = std::clamp(double(ones) / L, 0.5 / L, 1.0 - 0.5 / L);
    const double xh = std::log(ph / (1.0 - ph)) / (2.0 * kA);     // calibrated logistic, inverted
    return clamp_round(0.5 * n * (xh + 1.0), ctx.max_count);
  }

  // The device input a (normalized, after the affine) has P_sw = sigmoid(2·kA·a) on the calibrated
  // logistic; the trainer's straight-through estimator differentiates that expected value.
  static constexpr double kA = kMtjLogisticA;

private:  // StoX-Net's a (Rogers et al., arXiv 2407.12378)
  double psw(double drive) const {
    if (curve_x_.empty()) return 1.0 / (1.0 + std::exp(-(drive - x50_) / scale_));
    if (drive <= curve_x_.front()) return curve_p_.front();
    if (drive >= curve_x_.back()) return curve_p_.back();
    const size_t hi = size_t(std::upper_bound(curve_x_.begin(), curve_x_.end(), drive) - curve_x_.begin());
    const size_t lo = hi - 1;
    const double t = (drive - curve_x_[lo]) / (curve_x_[hi] - curve_x_[lo]);
    return curve_p_[lo] + t * (curve_p_[hi] - curve_p_[lo]);
  }
  std::string name_, fit_name_;
  std::vector<int> lengths_;
  double cell_;
  double x50_ = 0, scale_ = 1;
  std::vector<double> curve_x_, curve_p_;
};

}  // namespace

XBARKIT_REGISTER_CONVERTER(mtj, "mtj", "mtj:BUNDLE[@FIT]:L[,L2,...] | mtj:stox:L",
                           "stochastic SOT-MTJ, L Bernoulli samples per read (StoX-Net)",
                           [](const std::string& args, const ConverterSetup& setup) -> std::unique_ptr<Converter> {
                             const auto colon = args.rfind(':');
                             if (colon == std::string::npos || colon == 0)
                               throw Error(fmt::format("converter 'mtj:{}': expected mtj:BUNDLE:L (e.g. "
                                                       "mtj:out/mtj_psw:8 or mtj:stox:4,8,16)", args));
                             return std::make_unique<MtjConverter>(args.substr(0, colon),
                                                                   parse_sampling_lengths(args.substr(colon + 1)),
                                                                   setup.cell_current_A);
                           })

}  // namespace xbarkit::imc
