#include "xbarkit/imc/converter.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/lut/array_ps.hpp"
#include "xbarkit/lut/bundle.hpp"

namespace xbarkit::imc {
namespace {

int clamp_round(double c, int max_count) {
  if (!(c > 0)) return 0;  // also NaN
  const double r = std::nearbyint(c);
  return r >= max_count ? max_count : int(r);
}

class IdealConverter : public Converter {
public:
  explicit IdealConverter(double cell) : inv_cell_(1.0 / cell) {}
  std::string name() const override { return "ideal"; }
  int count(double current_A, const ConvertContext& ctx, Rng&) const override {
    return clamp_round(current_A * inv_cell_, ctx.max_count);
  }
  bool exact_on_ideal_currents() const override { return true; }

private:
  double inv_cell_;
};

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

private:
  std::vector<double> bounds_;
};

class AdcConverter : public Converter {
public:
  AdcConverter(const std::string& dir, const ConverterSetup& setup) : name_("adc:" + dir) {
    const auto b = lut::load_bundle(dir);
    if (b.kind != "adc") throw Error(fmt::format("--converter adc:{}: bundle kind is '{}', expected 'adc'", dir, b.kind));
    const auto& thr = b.table("column_thresholds");
    const auto& codes = b.table("codes");
    const int rows = b.info.value("rows", 0);
    if (rows > 0 && rows != setup.rows)
      throw Error(fmt::format("--converter adc:{}: the ADC was characterized for {}-row columns, the simulated array "
                              "has {} rows; characterize an ADC for {} rows (adc recipe: array_lut/array_config)",
                              dir, rows, setup.rows, setup.rows));
    instances_ = int(thr.axes()[0].points.size());
    levels_ = int(thr.axes()[1].points.size());
    thresholds_.resize(size_t(instances_) * size_t(levels_));
    const size_t tc = thr.column_index("threshold_A");
    for (size_t i = 0; i < thresholds_.size(); ++i) {
      thresholds_[i] = thr.value(i, tc);
      if (!std::isfinite(thresholds_[i]))
        throw Error(fmt::format("--converter adc:{}: ADC instance {} has no thresholds (its characterization point "
                                "failed; see 'xbarkit lut check {}')", dir, i / size_t(levels_), dir));
    }
    const size_t n = codes.axes()[0].points.size();
    if (int(n) != levels_ + 1) throw Error(fmt::format("--converter adc:{}: {} codes for {} thresholds", dir, n, levels_));
    for (size_t c = 0; c < n; ++c) {
      if (codes.has_column("partial_sum"))
        count_of_code_.push_back(codes.value(c, codes.column_index("partial_sum")));
      else
        count_of_code_.push_back(codes.value(c, codes.column_index("ideal_center_A")) / setup.cell_current_A);
    }
  }
  std::string name() const override { return name_; }
  int count(double current_A, const ConvertContext& ctx, Rng&) const override {
    const double* t = thresholds_.data() + size_t(ctx.column % instances_) * size_t(levels_);
    const int code = int(std::upper_bound(t, t + levels_, current_A) - t);
    return clamp_round(count_of_code_[size_t(code)], ctx.max_count);
  }

private:
  std::string name_;
  int instances_ = 0, levels_ = 0;
  std::vector<double> thresholds_;     // instance × threshold, ascending per instance
  std::vector<double> count_of_code_;  // code -> conducting-count estimate
};

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
      throw Error(fmt::format("--converter mtj:{}: bundle kind is '{}', expected 'mtj_psw'", source, b.kind));
    const lut::NamedFit* fit = nullptr;
    std::string names;
    for (const auto& f : b.fits) {
      if (f.fit.kind != "logistic") continue;
      names += (names.empty() ? "" : ", ") + f.name;
      if (!fit && (want.empty() || f.name == want)) fit = &f;
    }
    if (!fit)
      throw Error(fmt::format("--converter mtj:{}: no logistic P_sw fit{} in the bundle (it has: {}); use mtj:stox:L "
                              "for the ideal StoX-Net curve", source, want.empty() ? "" : " named " + want,
                              names.empty() ? "none" : names));
    fit_name_ = fit->name;
    x50_ = fit->fit.param("x50");
    scale_ = fit->fit.param("scale");
    if (!(scale_ > 0))
      throw Error(fmt::format("--converter mtj:{}: logistic scale {} must be > 0", source, scale_));
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
  int count(double current_A, const ConvertContext& ctx, Rng& rng) const override {
    const int L = lengths_[size_t(std::min<int>(ctx.layer_slot, int(lengths_.size()) - 1))];
    const double n = ctx.tile_capacity;
    const double x = 2.0 * current_A / (cell_ * n) - 1.0;          // normalized partial sum
    const double drive = x50_ + 2.0 * kA * scale_ * x;             // MTJ write current
    const double p = psw(drive);
    int ones = 0;
    for (int i = 0; i < L; ++i) ones += rng.uniform() < p;
    const double ph = std::clamp(double(ones) / L, 0.5 / L, 1.0 - 0.5 / L);
    const double xh = std::log(ph / (1.0 - ph)) / (2.0 * kA);     // calibrated logistic, inverted
    return clamp_round(0.5 * n * (xh + 1.0), ctx.max_count);
  }

private:
  static constexpr double kA = 4.0;  // StoX-Net's a (REFERENCE.md §5)
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

std::vector<int> parse_sampling_lengths(const std::string& s) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    const size_t comma = s.find(',', pos);
    const std::string part = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(part, &used);
    } catch (...) {
      used = 0;
    }
    if (part.empty() || used != part.size() || v < 1 || v > 1000000)
      throw Error(fmt::format("MTJ sampling length '{}' in '{}' must be an integer in [1, 1000000]", part, s));
    out.push_back(int(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

std::unique_ptr<Converter> make_ideal_converter(double cell_current_A) {
  if (!(cell_current_A > 0)) throw Error(fmt::format("ideal converter: cell current {} A must be > 0", cell_current_A));
  return std::make_unique<IdealConverter>(cell_current_A);
}

std::unique_ptr<Converter> make_converter(const std::string& spec, const ConverterSetup& setup) {
  if (spec == "ideal") return make_ideal_converter(setup.cell_current_A);
  if (spec == "calibrated") {
    if (!setup.array || !setup.array_config)
      throw Error("--converter calibrated needs --array-lut (it inverts the array's mean transfer)");
    return std::make_unique<CalibratedConverter>(*setup.array, *setup.array_config);
  }
  if (spec.rfind("adc:", 0) == 0) {
    const auto dir = spec.substr(4);
    if (dir.empty()) throw Error("--converter adc:BUNDLE needs the ADC bundle directory");
    return std::make_unique<AdcConverter>(dir, setup);
  }
  if (spec.rfind("mtj:", 0) == 0) {
    const auto rest = spec.substr(4);
    const auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(fmt::format("--converter '{}': expected mtj:BUNDLE:L (e.g. mtj:out/mtj_psw:8 or mtj:stox:4,8,16)", spec));
    return std::make_unique<MtjConverter>(rest.substr(0, colon), parse_sampling_lengths(rest.substr(colon + 1)),
                                          setup.cell_current_A);
  }
  throw Error(fmt::format("unknown converter '{}' (ideal | calibrated | adc:BUNDLE | mtj:BUNDLE:L)", spec));
}

}  // namespace xbarkit::imc
