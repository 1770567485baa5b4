// Characterization kind "mtj_psw": switching-probability tables P_sw(pulse width, current) and
// logistic fits from the macrospin LLGS Monte Carlo (mtj/switching.hpp), for SOT-MTJ converters.
//
//   [mtj_psw]
//   devices = ["sot_pma_7nm", "../models/mtj/x.toml"]  # names under models/mtj/ or paths (recipe-relative)
//   current_range_ic0 = [0.3, 1.5]   # currents as multiples of each device's critical-current
//   current_points = 16              #   estimate ic0 (xbarkit mtj info), linearly spaced; or:
//   # currents_A = [50e-6, 60e-6]    # explicit, the same for every device (strictly increasing)
//   pulses_s = [2e-9, 5e-9, 10e-9]   # pulse widths (FWHM)
//   trials = 200                     # trajectories per (pulse, current)
//   dt_s = 1e-12                     # stochastic Heun step
//
// One sweep point per (device, pulse, current); trajectory j of point p draws from the stream the
// mtj solver derives from (derive_seed(seed, p), j), so results do not depend on scheduling.
// Per device the bundle holds table "<device>_psw" with axes pulse_s [s] x current_A [A] and columns
// p_switch, stderr, trials; per (device, pulse) a logistic fit "<device>_<pulse>" in the current,
// from the binomial maximum-likelihood fit of mtj::fit_logistic, with residuals against the points.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/switching.hpp"

namespace xbarkit::characterize {
namespace {

struct DeviceEntry {
  std::string name;
  std::filesystem::path file;
  mtj::Device device;
  std::vector<double> currents_A;
  double ic0_A = 0;
};

struct PointInfo {
  size_t device, pulse, current;
};

class MtjPswKind : public Kind {
public:
  MtjPswKind(const Recipe& recipe, const TomlSection& s) : seed_(recipe.seed) {
    const auto names = s.string_array("devices").value_or(std::vector<std::string>{});
    if (names.empty()) throw s.error("devices", "missing (device names under models/mtj/ or paths to .toml files)");
    const auto explicit_currents = s.number_array("currents_A");
    std::vector<double> range = s.number_array("current_range_ic0").value_or(std::vector<double>{0.3, 1.5});
    const auto npts = s.integer_in("current_points", 16, 3, 10000);
    if (explicit_currents) {
      require_increasing(s, "currents_A", *explicit_currents);
      for (double c : *explicit_currents)
        if (!(c > 0)) throw s.error("currents_A", "currents must be > 0");
    } else {
      if (range.size() != 2 || !(range[0] > 0 && range[1] > range[0]))
        throw s.error("current_range_ic0", "expected [lo, hi] with 0 < lo < hi");
      if (npts < 3) throw s.error("current_points", "must be >= 3 (a logistic fit needs them)");
    }
    pulses_ = require_increasing(s, "pulses_s", s.number_array("pulses_s").value_or(std::vector<double>{10e-9}));
    for (double p : pulses_)
      if (!(p > 0)) throw s.error("pulses_s", "pulse widths must be > 0");
    trials_ = static_cast<int>(s.integer_in("trials", 200, 1, 10'000'000));
    dt_ = s.number("dt_s").value_or(1e-12);
    if (!(dt_ > 0)) throw s.error("dt_s", "must be > 0");
    for (const auto& n : names) {
      DeviceEntry e;
      std::filesystem::path p = n;
      const bool is_path = p.has_extension() || p.has_parent_path();
      e.file = is_path ? resolve_path(recipe, n) : std::filesystem::path(n);
      try {
        e.device = mtj::load_device(e.file);
      } catch (const InputError&) {
        throw;
      } catch (const Error& err) {
        throw s.error("devices", err.what());
      }
      if (!is_path) e.file = e.device.source_file;
      e.name = e.device.name.empty() ? std::filesystem::path(e.file).stem().string() : e.device.name;
      for (char& c : e.name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
      e.ic0_A = mtj::derive(e.device).ic0_A;
      if (explicit_currents) {
        e.currents_A = *explicit_currents;
      } else {
        for (int64_t i = 0; i < npts; ++i)
          e.currents_A.push_back(e.ic0_A * (range[0] + (range[1] - range[0]) * static_cast<double>(i) / (npts - 1)));
      }
      mtj::check_time_step(e.device, dt_, e.currents_A.back(), "mtj_psw.dt_s");
      devices_.push_back(std::move(e));
    }
    for (size_t d = 0; d < devices_.size(); ++d)
      for (size_t p = 0; p < pulses_.size(); ++p)
        for (size_t c = 0; c < devices_[d].currents_A.size(); ++c) {
          infos_.push_back({d, p, c});
          points_.push_back({fmt::format("{}/pulse{:g}ns/I{}", devices_[d].name, pulses_[p] * 1e9, c)});
        }
  }

  const std::vector<Point>& points() const override { return points_; }
  std::string engine() const override { return "macrospin LLGS, stochastic Heun (mtj::switching_probability)"; }
  std::vector<std::filesystem::path> model_files() const override {
    std::vector<std::filesystem::path> f;
    for (const auto& d : devices_) f.push_back(d.file);
    return f;
  }

  nlohmann::json run(size_t i) const override {
    const auto& info = infos_.at(i);
    const auto& dev = devices_[info.device];
    mtj::PswRequest req;
    req.currents_A = {dev.currents_A[info.current]};
    req.pulse_s = pulses_[info.pulse];
    req.trials = trials_;
    req.seed = derive_seed(seed_, i);
    req.threads = 1;  // parallel across sweep points
    req.dt_s = dt_;
    req.dt_key = "mtj_psw.dt_s";
    const auto r = mtj::switching_probability(dev.device, req);
    const auto& p = r.points.at(0);
    return {{"current_A", p.current_A}, {"p_switch", p.p_switch}, {"stderr", p.stderr_}, {"trials", p.trials},
            {"switched", p.switched}, {"steps", r.steps}};
  }

  lut::Bundle assemble(const std::vector<PointResult>& results) const override {
    lut::Bundle b;
    nlohmann::json summary = nlohmann::json::array();
    for (size_t d = 0; d < devices_.size(); ++d) {
      const auto& dev = devices_[d];
      lut::Table t(dev.name + "_psw", {{"pulse_s", "s", pulses_}, {"current_A", "A", dev.currents_A}},
                   {{"p_switch", "1"}, {"stderr", "1"}, {"trials", "1"}});
      for (auto& v : t.data()) v = std::nan("");
      std::vector<std::vector<mtj::PswPoint>> per_pulse(pulses_.size());
      for (size_t i = 0; i < infos_.size(); ++i) {
        if (infos_[i].device != d || !results[i].ok) continue;
        const auto& r = results[i].data;
        const size_t node = infos_[i].pulse * dev.currents_A.size() + infos_[i].current;
        t.value(node, 0) = r.at("p_switch").get<double>();
        t.value(node, 1) = r.at("stderr").get<double>();
        t.value(node, 2) = r.at("trials").get<int>();
        mtj::PswPoint p;
        p.current_A = r.at("current_A").get<double>();
        p.p_switch = r.at("p_switch").get<double>();
        p.stderr_ = r.at("stderr").get<double>();
        p.trials = r.at("trials").get<int>();
        p.switched = r.at("switched").get<int>();
        per_pulse[infos_[i].pulse].push_back(p);
      }
      t.attributes = {{"role", "mtj_psw"}, {"device", dev.name}, {"device_file", display_path(dev.file)},
                      {"ic0_A", dev.ic0_A}, {"dt_s", dt_}, {"trials", trials_}};
      t.preferred_interp = lut::Interp::monotone_cubic;
      b.tables.push_back(t);
      for (size_t p = 0; p < pulses_.size(); ++p) {
        auto& pts = per_pulse[p];
        std::sort(pts.begin(), pts.end(), [](const auto& a, const auto& c) { return a.current_A < c.current_A; });
        nlohmann::json sj{{"device", dev.name}, {"pulse_s", pulses_[p]}, {"points", pts.size()}};
        double p_max = 0;
        for (const auto& q : pts) p_max = std::max(p_max, q.p_switch);
        sj["p_switch_max"] = p_max;
        if (!pts.empty() && p_max < 0.9)
          sj["warning"] = fmt::format("P_sw never exceeds {:.2f} in the swept currents: the logistic form (0 to 1) "
                                      "does not describe this device here; see the fit's residuals",
                                      p_max);
        const auto mle = pts.size() >= 3 ? mtj::fit_logistic(pts) : mtj::LogisticFit{};
        if (!mle.ok) {
          sj["fit"] = mle.note.empty() ? "no fit (too few points or no transition in the current range)" : mle.note;
          summary.push_back(sj);
          continue;
        }
        lut::Fit f;
        f.kind = "logistic";
        f.param_names = {"x50", "scale"};
        f.params = {mle.i50_A, mle.scale_A};
        f.param_stderr = {mle.i50_err_A, mle.scale_err_A};
        f.n = pts.size();
        double ss = 0, tot = 0, mean = 0, mx = 0;
        for (const auto& q : pts) mean += q.p_switch / pts.size();
        for (const auto& q : pts) {
          const double r = q.p_switch - f(q.current_A);
          f.residuals.push_back(r);
          ss += r * r;
          tot += (q.p_switch - mean) * (q.p_switch - mean);
          mx = std::max(mx, std::abs(r));
        }
        f.rms_residual = std::sqrt(ss / pts.size());
        f.max_abs_residual = mx;
        f.r_squared = tot > 0 ? 1 - ss / tot : 1;
        b.fits.push_back({fmt::format("{}_{:g}ns", dev.name, pulses_[p] * 1e9), f,
                          {{"device", dev.name}, {"pulse_s", pulses_[p]}, {"x_unit", "A"},
                           {"method", "binomial maximum likelihood (mtj::fit_logistic)"},
                           {"chi2_per_dof", mle.chi2_per_dof}}});
        sj["i50_A"] = mle.i50_A;
        sj["scale_A"] = mle.scale_A;
        sj["chi2_per_dof"] = mle.chi2_per_dof;
        sj["rms_residual"] = f.rms_residual;
        summary.push_back(sj);
      }
    }
    b.info = {{"trials", trials_}, {"dt_s", dt_}, {"pulses_s", pulses_},
              {"layout", "table <device>_psw: axes pulse_s x current_A; fits <device>_<pulse>ns: P(I) = 1/(1+exp(-(I-x50)/scale))"}};
    b.validation = {{"fits", summary}};
    return b;
  }

private:
  uint64_t seed_;
  std::vector<DeviceEntry> devices_;
  std::vector<double> pulses_;
  int trials_ = 200;
  double dt_ = 1e-12;
  std::vector<PointInfo> infos_;
  std::vector<Point> points_;
};

const RegisterKind reg("mtj_psw", [](const Recipe& r, const TomlSection& s) { return std::make_unique<MtjPswKind>(r, s); });

}  // namespace

void link_kind_mtj_psw() {}

}  // namespace xbarkit::characterize
