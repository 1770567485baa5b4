// Characterization kind "adc": transfer tables of an n-bit current-mode ADC.
//
//   [adc]
//   bits = 5                   # resolution n: 2^n codes, mid-tread (code c centred on c LSB)
//   full_scale_A = 1.6e-3      # current of the top code centre; default: max_count x ideal cell current
//                              # of the array configuration below
//   array_lut = "bundle/dir"   # optional array_ps bundle: thresholds calibrated to its mean transfer
//   array_config = "sram8t_r128_w1"   # which table of it (needed when it holds several)
//   max_count = 64             # with array_lut: the conducting count the top code stands for (default
//                              # the array's rows; an XNOR column conducts at most rows / 2 cells)
//   columns = 128              # ADC instances (one per array column) to draw
//   sigma_offset_lsb = 0.2     # per-column offset, in LSB
//   sigma_gain = 0.01          # per-column relative gain error
//   sigma_inl_lsb = 0.3        # per-column INL bow amplitude (sin(pi t / 2^n) shape), in LSB
//   sigma_dnl_lsb = 0.1        # per-threshold random DNL, in LSB
//   columns_per_point = 16     # columns per journal point
//
// Model (after Ghosh et al., arXiv 2408.06390, which folds these non-idealities into training):
// nominal thresholds b_t (t = 1..2^n-1) are ideal, (t - 1/2) LSB with LSB = FS / (2^n - 1), or
// calibrated, I_mean(k_t) with k_t = (t - 1/2) rows / (2^n - 1) on the array's mean transfer
// (monotone cubic in k), so that the ADC's codes land on partial sums despite IR drop. Column c's
// thresholds are  gain_c (b_t + LSB (inl_c sin(pi t / 2^n) + dnl_ct)) + offset_c  with every factor
// drawn from Rng(seed, c), then sorted (an inversion is a missing code). Per column the bundle
// records the drawn parameters and the resulting max |INL| and |DNL| against the column's own
// endpoint-fit line through its nominal thresholds.
#include <algorithm>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/lut/array_ps.hpp"

namespace xbarkit::characterize {
namespace {

class AdcKind : public Kind {
public:
  AdcKind(const Recipe& recipe, const TomlSection& s) : seed_(recipe.seed) {
    const auto bits = s.require_integer("bits");
    if (bits < 1 || bits > 16) throw s.error("bits", fmt::format("must be in [1, 16], got {}", bits));
    bits_ = static_cast<int>(bits);
    const auto columns = s.integer("columns").value_or(128);
    if (columns < 1 || columns > 1 << 20) throw s.error("columns", "must be in [1, 1048576]");
    columns_ = static_cast<int>(columns);
    const auto per = s.integer("columns_per_point").value_or(16);
    if (per < 1 || per > 1 << 20) throw s.error("columns_per_point", "must be in [1, 1048576]");
    per_point_ = static_cast<int>(per);
    auto sigma = [&](const char* key) {
      const double v = s.number(key).value_or(0.0);
      if (!(v >= 0 && std::isfinite(v))) throw s.error(key, fmt::format("must be >= 0, got {}", v));
      return v;
    };
    sigma_offset_ = sigma("sigma_offset_lsb");
    sigma_gain_ = sigma("sigma_gain");
    sigma_inl_ = sigma("sigma_inl_lsb");
    sigma_dnl_ = sigma("sigma_dnl_lsb");
    const int levels = (1 << bits_) - 1;  // number of thresholds

    if (auto a = s.string("array_lut")) {
      array_dir_ = resolve_path(recipe, *a);
      lut::ArrayPsLut array = [&] {
        try {
          return lut::ArrayPsLut::load(array_dir_);
        } catch (const Error& e) {
          throw s.error("array_lut", e.what());
        }
      }();
      const lut::ArrayPsConfig* cfg = nullptr;
      if (auto name = s.string("array_config")) {
        for (const auto& c : array.configs())
          if (c.table == *name) cfg = &c;
        if (!cfg) throw s.error("array_config", fmt::format("bundle {} has no array table '{}'", array_dir_.string(), *name));
      } else {
        if (array.configs().size() != 1)
          throw s.error("array_config", fmt::format("bundle {} holds {} array tables; name one", array_dir_.string(),
                                                    array.configs().size()));
        cfg = &array.configs()[0];
      }
      array_config_ = cfg->table;
      rows_ = cfg->rows;
      const auto& transfer = array.bundle().table(cfg->transfer_table);
      const auto& attrs = array.bundle().table(cfg->table).attributes;
      ideal_cell_A_ = attrs.value("ideal_cell_current_A", 0.0);
      span_ = rows_;
      if (auto m = s.integer("max_count")) {
        if (*m < 1 || *m > rows_)
          throw s.error("max_count", fmt::format("must be in [1, {}] (the array's rows), got {}", rows_, *m));
        span_ = static_cast<int>(*m);
      }
      calibrated_.resize(static_cast<size_t>(levels));
      for (int t = 1; t <= levels; ++t) {
        const double k = (t - 0.5) * span_ / levels;
        const std::vector<double> q{k};
        calibrated_[static_cast<size_t>(t - 1)] = transfer.interpolate(q, "mean_A", lut::Interp::monotone_cubic);
      }
    } else if (s.has("array_config")) {
      (void)s.string("array_config");
      throw s.error("array_config", "needs array_lut");
    } else if (s.has("max_count")) {
      (void)s.integer("max_count");
      throw s.error("max_count", "needs array_lut (the counts are those of its array)");
    }
    if (auto fs = s.number("full_scale_A")) {
      if (!(*fs > 0 && std::isfinite(*fs))) throw s.error("full_scale_A", fmt::format("must be > 0, got {}", *fs));
      full_scale_ = *fs;
    } else if (span_ > 0 && ideal_cell_A_ > 0) {
      full_scale_ = span_ * ideal_cell_A_;
    } else {
      throw s.error("full_scale_A", "missing (required unless array_lut gives rows and the ideal cell current)");
    }
    lsb_ = full_scale_ / levels;
    ideal_.resize(static_cast<size_t>(levels));
    for (int t = 1; t <= levels; ++t) ideal_[static_cast<size_t>(t - 1)] = (t - 0.5) * lsb_;
    for (int c0 = 0; c0 < columns_; c0 += per_point_)
      points_.push_back({fmt::format("columns/{}-{}", c0, std::min(columns_, c0 + per_point_) - 1)});
  }

  const std::vector<Point>& points() const override { return points_; }
  std::string engine() const override { return "closed-form ADC model (Monte-Carlo per-column draws)"; }
  std::vector<std::filesystem::path> model_files() const override {
    if (array_dir_.empty()) return {};
    return {array_dir_ / "lut.json"};
  }

  nlohmann::json run(size_t i) const override {
    const auto& base = calibrated_.empty() ? ideal_ : calibrated_;
    const int levels = static_cast<int>(base.size());
    const double nominal_lsb = levels > 1 ? (base.back() - base.front()) / (levels - 1) : lsb_;
    nlohmann::json out = nlohmann::json::array();
    const int c0 = static_cast<int>(i) * per_point_;
    for (int c = c0; c < std::min(columns_, c0 + per_point_); ++c) {
      Rng rng(seed_, static_cast<uint64_t>(c));
      const double offset = sigma_offset_ * nominal_lsb * rng.normal();
      const double gain = 1 + sigma_gain_ * rng.normal();
      const double inl = sigma_inl_ * rng.normal();
      std::vector<double> thr(static_cast<size_t>(levels));
      for (int t = 1; t <= levels; ++t) {
        const double bow = inl * std::sin(std::numbers::pi * t / (levels + 1));
        const double dnl = sigma_dnl_ * rng.normal();
        thr[static_cast<size_t>(t - 1)] = gain * (base[static_cast<size_t>(t - 1)] + nominal_lsb * (bow + dnl)) + offset;
      }
      int missing = 0;
      for (size_t t = 1; t < thr.size(); ++t) missing += thr[t] <= thr[t - 1];
      std::sort(thr.begin(), thr.end());
      // Endpoint fit of the column's thresholds onto its nominal ones: thr ~ a + b * base.
      double inl_max = 0, dnl_max = 0;
      if (levels > 1) {
        const double b = (thr.back() - thr.front()) / (base.back() - base.front());
        const double a = thr.front() - b * base.front();
        const double lsb_c = b * nominal_lsb;
        for (size_t t = 0; t < thr.size(); ++t) {
          inl_max = std::max(inl_max, std::abs(thr[t] - (a + b * base[t])) / lsb_c);
          if (t + 1 < thr.size())
            dnl_max = std::max(dnl_max, std::abs((thr[t + 1] - thr[t]) - b * (base[t + 1] - base[t])) / lsb_c);
        }
      }
      out.push_back({{"column", c}, {"offset_A", offset}, {"gain", gain}, {"inl_amplitude_lsb", inl},
                     {"thresholds_A", thr}, {"inl_max_lsb", inl_max}, {"dnl_max_lsb", dnl_max},
                     {"missing_codes", missing}});
    }
    return out;
  }

  lut::Bundle assemble(const std::vector<PointResult>& results) const override {
    lut::Bundle b;
    const int levels = static_cast<int>(ideal_.size());
    std::vector<double> tpoints, cpoints, colpoints;
    for (int t = 1; t <= levels; ++t) tpoints.push_back(t);
    for (int c = 0; c <= levels; ++c) cpoints.push_back(c);
    for (int c = 0; c < columns_; ++c) colpoints.push_back(c);

    std::vector<lut::Column> tcols{{"ideal_A", "A"}};
    if (!calibrated_.empty()) tcols.push_back({"calibrated_A", "A"});
    if (rows_ > 0) tcols.push_back({"partial_sum", "1"});
    lut::Table thresholds("thresholds", {{"threshold", "1", tpoints}}, tcols);
    for (int t = 1; t <= levels; ++t) {
      const auto n = static_cast<size_t>(t - 1);
      size_t col = 0;
      thresholds.value(n, col++) = ideal_[n];
      if (!calibrated_.empty()) thresholds.value(n, col++) = calibrated_[n];
      if (rows_ > 0) thresholds.value(n, col++) = (t - 0.5) * span_ / levels;
    }
    thresholds.attributes = {{"meaning", "code c is output when threshold c <= I < threshold c+1 (code 0 below "
                                         "threshold 1, top code at or above the last)"}};
    b.tables.push_back(thresholds);

    std::vector<lut::Column> ccols{{"ideal_center_A", "A"}};
    if (rows_ > 0) ccols.push_back({"partial_sum", "1"});
    lut::Table codes("codes", {{"code", "1", cpoints}}, ccols);
    for (int c = 0; c <= levels; ++c) {
      codes.value(static_cast<size_t>(c), 0) = c * lsb_;
      if (rows_ > 0) codes.value(static_cast<size_t>(c), 1) = static_cast<double>(c) * span_ / levels;
    }
    b.tables.push_back(codes);

    lut::Table colthr("column_thresholds", {{"column", "1", colpoints}, {"threshold", "1", tpoints}},
                      {{"threshold_A", "A"}});
    lut::Table params("column_params", {{"column", "1", colpoints}},
                      {{"offset_A", "A"}, {"gain", "1"}, {"inl_amplitude_lsb", "1"}, {"inl_max_lsb", "1"},
                       {"dnl_max_lsb", "1"}, {"missing_codes", "1"}, {"ok", "1"}});
    for (auto& v : colthr.data()) v = std::nan("");
    for (auto& v : params.data()) v = std::nan("");
    double worst_inl = 0, worst_dnl = 0;
    int total_missing = 0, columns_ok = 0;
    for (const auto& r : results) {
      if (!r.ok) continue;
      for (const auto& c : r.data) {
        const auto col = c.at("column").get<size_t>();
        const auto thr = c.at("thresholds_A").get<std::vector<double>>();
        for (size_t t = 0; t < thr.size(); ++t) colthr.value(col * thr.size() + t, 0) = thr[t];
        params.value(col, 0) = c.at("offset_A").get<double>();
        params.value(col, 1) = c.at("gain").get<double>();
        params.value(col, 2) = c.at("inl_amplitude_lsb").get<double>();
        params.value(col, 3) = c.at("inl_max_lsb").get<double>();
        params.value(col, 4) = c.at("dnl_max_lsb").get<double>();
        params.value(col, 5) = c.at("missing_codes").get<int>();
        params.value(col, 6) = 1;
        worst_inl = std::max(worst_inl, params.value(col, 3));
        worst_dnl = std::max(worst_dnl, params.value(col, 4));
        total_missing += c.at("missing_codes").get<int>();
        ++columns_ok;
      }
    }
    colthr.attributes = {{"base", calibrated_.empty() ? "ideal" : "calibrated"}};
    b.tables.push_back(colthr);
    b.tables.push_back(params);
    b.info = {{"bits", bits_},
              {"codes", levels + 1},
              {"full_scale_A", full_scale_},
              {"lsb_A", lsb_},
              {"rows", rows_},
              {"max_count", span_},
              {"array_lut", array_dir_.empty() ? "" : display_path(array_dir_)},
              {"array_config", array_config_},
              {"columns", columns_},
              {"sigma_offset_lsb", sigma_offset_},
              {"sigma_gain", sigma_gain_},
              {"sigma_inl_lsb", sigma_inl_},
              {"sigma_dnl_lsb", sigma_dnl_},
              {"model", "thr_ct = gain_c (b_t + LSB (inl_c sin(pi t / 2^n) + dnl_ct)) + offset_c, sorted; b_t ideal "
                        "(t - 1/2) LSB or calibrated I_mean(k_t)"}};
    b.validation = {{"columns_characterized", columns_ok},
                    {"worst_inl_lsb", worst_inl},
                    {"worst_dnl_lsb", worst_dnl},
                    {"missing_codes_total", total_missing}};
    return b;
  }

private:
  uint64_t seed_;
  int bits_ = 0, columns_ = 0, per_point_ = 16, rows_ = 0;
  int span_ = 0;  // conducting count of the top code (max_count; the array's rows by default)
  double sigma_offset_ = 0, sigma_gain_ = 0, sigma_inl_ = 0, sigma_dnl_ = 0;
  double full_scale_ = 0, lsb_ = 0, ideal_cell_A_ = 0;
  std::filesystem::path array_dir_;
  std::string array_config_;
  std::vector<double> ideal_, calibrated_;
  std::vector<Point> points_;
};

const RegisterKind reg("adc", [](const Recipe& r, const TomlSection& s) { return std::make_unique<AdcKind>(r, s); });

}  // namespace

void link_kind_adc() {}

}  // namespace xbarkit::characterize
