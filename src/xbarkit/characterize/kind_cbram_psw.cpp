// Characterization kind "cbram_psw": switching-probability tables P_sw(pulse width, voltage) of CBRAM
// cells by event-level Monte Carlo of Poisson filament formation (cbram/switching.hpp), with binomial
// errors, the model's closed form beside every point, and the binomial maximum-likelihood fit of the
// tau(V) = tau0 exp(-V / V0) law, for stochastic-computing stream generators (sc/source.hpp).
//
//   [cbram_psw]
//   devices = ["ag_asi_gaba2013"]        # names under models/cbram/ or paths (recipe-relative)
//   voltages_V = [2.6, 2.8, 3.0]         # SET amplitudes, strictly increasing, > 0
//   pulses_s = [1e-5, 1e-4, 1e-3]        # SET pulse widths, strictly increasing, > 0
//   trials = 2000                        # SET attempts per (voltage, pulse)
//   population = false                   # true: every trial draws a device of the D2D population
//
// One sweep point per (device, voltage, pulse), drawing from stream derive_seed(seed, point), so
// results do not depend on scheduling. Per device the bundle holds table "<device>_psw" (axes
// pulse_s x voltage_V; columns p_switch, stderr, trials, p_model), table "<device>_tau" (axis
// voltage_V; per-voltage MLE tau_s, tau_stderr_s and the model's tau_model_s) and fit "<device>_tau":
// ln tau(V) = c0 + c1 V (c0 = ln tau0, c1 = -1/V0) from the global binomial MLE, whose attributes and
// the bundle's validation carry tau0_s and v0_V with their errors and the chi^2 of the table against
// the closed form.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/cbram/device.hpp"
#include "xbarkit/cbram/switching.hpp"
#include "xbarkit/characterize/recipe.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"

namespace xbarkit::characterize {
namespace {

struct DeviceEntry {
  std::string name;
  std::filesystem::path file;
  cbram::Device device;
};

struct PointInfo {
  size_t device, voltage, pulse;
};

class CbramPswKind : public Kind {
public:
  CbramPswKind(const Recipe& recipe, const TomlSection& s) : seed_(recipe.seed) {
    const auto names = s.string_array("devices").value_or(std::vector<std::string>{});
    if (names.empty()) throw s.error("devices", "missing (device names under models/cbram/ or paths to .toml files)");
    const auto volts = s.number_array("voltages_V");
    if (!volts || volts->size() < 2) throw s.error("voltages_V", "needs at least two voltages (the tau(V) fit has two parameters)");
    voltages_ = require_increasing(s, "voltages_V", *volts);
    for (double v : voltages_)
      if (!(v > 0)) throw s.error("voltages_V", fmt::format("voltages must be > 0, got {}", v));
    const auto pulses = s.number_array("pulses_s");
    if (!pulses || pulses->empty()) throw s.error("pulses_s", "missing (SET pulse widths in seconds)");
    pulses_ = require_increasing(s, "pulses_s", *pulses);
    for (double p : pulses_)
      if (!(p > 0)) throw s.error("pulses_s", fmt::format("pulse widths must be > 0, got {}", p));
    trials_ = s.integer_in("trials", 2000, 1, 1'000'000'000);
    population_ = s.boolean("population").value_or(false);
    for (const auto& n : names) {
      DeviceEntry e;
      std::filesystem::path p = n;
      const bool is_path = p.has_extension() || p.has_parent_path();
      e.file = is_path ? resolve_path(recipe, n) : p;
      try {
        e.device = cbram::load_device(e.file);
      } catch (const InputError&) {
        throw;
      } catch (const Error& err) {
        throw s.error("devices", err.what());
      }
      e.file = e.device.source_file;
      e.name = e.device.name.empty() ? e.file.stem().string() : e.device.name;
      for (char& c : e.name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') c = '_';
      for (double v : voltages_)
        if (e.device.tau_s(v) < 1e-13)
          throw s.error("voltages_V", fmt::format("{}: tau({} V) = {:.3g} s is below the ionic attempt time; the law "
                                                  "is extrapolated beyond physics there",
                                                  e.name, v, e.device.tau_s(v)));
      devices_.push_back(std::move(e));
    }
    for (size_t d = 0; d < devices_.size(); ++d)
      for (size_t v = 0; v < voltages_.size(); ++v)
        for (size_t p = 0; p < pulses_.size(); ++p) {
          infos_.push_back({d, v, p});
          points_.push_back({fmt::format("{}/V{:g}/t{:g}", devices_[d].name, voltages_[v], pulses_[p])});
        }
  }

  const std::vector<Point>& points() const override { return points_; }
  std::string engine() const override { return "CBRAM Poisson filament formation, event Monte Carlo (cbram::count_switching)"; }
  std::vector<std::filesystem::path> model_files() const override {
    std::vector<std::filesystem::path> f;
    for (const auto& d : devices_) f.push_back(d.file);
    return f;
  }

  nlohmann::json run(size_t i) const override {
    const auto& info = infos_.at(i);
    const auto& dev = devices_[info.device].device;
    const double V = voltages_[info.voltage], t = pulses_[info.pulse];
    const auto c = cbram::count_switching(dev, V, t, trials_, population_, derive_seed(seed_, i));
    const double p = static_cast<double>(c.switched) / static_cast<double>(c.trials);
    return {{"voltage_V", V}, {"pulse_s", t}, {"trials", c.trials}, {"switched", c.switched}, {"p_switch", p},
            {"stderr", std::sqrt(p * (1 - p) / static_cast<double>(c.trials))}, {"p_model", model_p(dev, V, t)}};
  }

  lut::Bundle assemble(const std::vector<PointResult>& results) const override {
    lut::Bundle b;
    nlohmann::json summary = nlohmann::json::array();
    for (size_t d = 0; d < devices_.size(); ++d) {
      const auto& dev = devices_[d];
      lut::Table t(dev.name + "_psw", {{"pulse_s", "s", pulses_}, {"voltage_V", "V", voltages_}},
                   {{"p_switch", "1"}, {"stderr", "1"}, {"trials", "1"}, {"p_model", "1"}});
      for (auto& v : t.data()) v = std::nan("");
      std::vector<cbram::SwitchCount> counts;
      std::vector<double> model;
      std::vector<std::vector<cbram::SwitchCount>> per_voltage(voltages_.size());
      for (size_t i = 0; i < infos_.size(); ++i) {
        if (infos_[i].device != d || !results[i].ok) continue;
        const auto& r = results[i].data;
        const size_t node = infos_[i].pulse * voltages_.size() + infos_[i].voltage;
        t.value(node, 0) = r.at("p_switch").get<double>();
        t.value(node, 1) = r.at("stderr").get<double>();
        t.value(node, 2) = static_cast<double>(r.at("trials").get<int64_t>());
        t.value(node, 3) = r.at("p_model").get<double>();
        cbram::SwitchCount c{r.at("voltage_V").get<double>(), r.at("pulse_s").get<double>(), r.at("trials").get<int64_t>(),
                             r.at("switched").get<int64_t>()};
        counts.push_back(c);
        model.push_back(r.at("p_model").get<double>());
        per_voltage[infos_[i].voltage].push_back(c);
      }
      t.attributes = {{"role", "cbram_psw"}, {"device", dev.name}, {"device_file", display_path(dev.file)},
                      {"trials", trials_}, {"population", population_}, {"tau0_s", dev.device.tau0_s},
                      {"v0_V", dev.device.v0_V}, {"tau0_d2d_sigma_ln", dev.device.tau0_d2d_sigma_ln},
                      {"tau0_c2c_sigma_ln", dev.device.tau0_c2c_sigma_ln}};
      t.preferred_interp = lut::Interp::monotone_cubic;
      b.tables.push_back(t);

      lut::Table tt(dev.name + "_tau", {{"voltage_V", "V", voltages_}},
                    {{"tau_s", "s"}, {"tau_stderr_s", "s"}, {"tau_model_s", "s"}});
      std::vector<double> fit_v, fit_ln_tau;
      for (size_t v = 0; v < voltages_.size(); ++v) {
        const auto tv = cbram::fit_tau_at_voltage(per_voltage[v]);
        tt.value(v, 0) = tv.tau_s;
        tt.value(v, 1) = tv.tau_err_s;
        tt.value(v, 2) = dev.device.tau_s(voltages_[v]);
        if (std::isfinite(tv.tau_s)) fit_v.push_back(voltages_[v]), fit_ln_tau.push_back(std::log(tv.tau_s));
      }
      tt.attributes = {{"role", "cbram_tau"}, {"device", dev.name}, {"method", "one-parameter binomial MLE per voltage"}};
      b.tables.push_back(tt);

      nlohmann::json sj{{"device", dev.name}, {"points", counts.size()}, {"population", population_}};
      const auto chi = cbram::pearson_chi2(counts, model);
      sj["chi2_vs_model"] = {{"chi2", chi.chi2},
                             {"points", chi.points},
                             {"chi2_per_dof", chi.points ? chi.chi2 / static_cast<double>(chi.points) : std::nan("")},
                             {"note", "Pearson chi^2 of the table against the closed form (no fitted parameters), over "
                                      "points with n p (1 - p) >= 1"}};
      const auto f = cbram::fit_tau_law(counts);
      if (!f.ok) {
        sj["fit"] = f.note;
        summary.push_back(sj);
        continue;
      }
      lut::Fit lf;
      lf.kind = "polynomial";
      lf.param_names = {"c0", "c1"};
      lf.params = {std::log(f.tau0_s), -1 / f.v0_V};
      lf.param_stderr = {f.tau0_rel_err, f.v0_rel_err / f.v0_V};
      lf.x_center = 0;
      lf.x_scale = 1;
      lf.n = fit_v.size();
      double ss = 0, tot = 0, mean = 0, mx = 0;
      for (double y : fit_ln_tau) mean += y / static_cast<double>(fit_ln_tau.size());
      for (size_t k = 0; k < fit_v.size(); ++k) {
        const double r = fit_ln_tau[k] - lf(fit_v[k]);
        lf.residuals.push_back(r);
        ss += r * r;
        tot += (fit_ln_tau[k] - mean) * (fit_ln_tau[k] - mean);
        mx = std::max(mx, std::abs(r));
      }
      lf.rms_residual = fit_v.empty() ? 0 : std::sqrt(ss / static_cast<double>(fit_v.size()));
      lf.max_abs_residual = mx;
      lf.r_squared = tot > 0 ? 1 - ss / tot : 1;
      const double dtau = f.tau0_s / dev.device.tau0_s - 1, dv0 = f.v0_V / dev.device.v0_V - 1;
      const nlohmann::json fit_summary{{"tau0_s", f.tau0_s},
                                       {"tau0_rel_stderr", f.tau0_rel_err},
                                       {"v0_V", f.v0_V},
                                       {"v0_rel_stderr", f.v0_rel_err},
                                       {"chi2_per_dof", f.chi2_per_dof},
                                       {"points_used", f.points_used},
                                       {"model_tau0_s", dev.device.tau0_s},
                                       {"model_v0_V", dev.device.v0_V},
                                       {"tau0_rel_deviation", dtau},
                                       {"v0_rel_deviation", dv0}};
      nlohmann::json attrs = fit_summary;
      attrs["device"] = dev.name;
      attrs["x_unit"] = "V";
      attrs["y"] = "ln(tau / 1 s)";
      attrs["method"] = "binomial maximum likelihood of P = 1 - exp(-t / (tau0 exp(-V/V0))) over all points (Fisher scoring)";
      if (population_)
        attrs["note"] = "population average over the device-to-device spread: not a single exponential in t, so "
                        "tau0/V0 are effective values";
      b.fits.push_back({dev.name + "_tau", lf, attrs});
      sj["fit"] = fit_summary;
      summary.push_back(sj);
    }
    b.info = {{"trials", trials_}, {"population", population_}, {"voltages_V", voltages_}, {"pulses_s", pulses_},
              {"layout", "table <device>_psw: axes pulse_s x voltage_V; table <device>_tau: per-voltage tau; fit "
                         "<device>_tau: ln tau = c0 + c1 V (tau0_s = exp(c0), v0_V = -1/c1)"}};
    b.validation = {{"devices", summary}};
    return b;
  }

private:
  double model_p(const cbram::Device& d, double V, double t) const {
    return population_ ? cbram::p_switch_population(d, V, t) : cbram::p_switch(d, V, t);
  }

  uint64_t seed_;
  std::vector<DeviceEntry> devices_;
  std::vector<double> voltages_, pulses_;
  int64_t trials_ = 2000;
  bool population_ = false;
  std::vector<PointInfo> infos_;
  std::vector<Point> points_;
};

const RegisterKind reg("cbram_psw", [](const Recipe& r, const TomlSection& s) { return std::make_unique<CbramPswKind>(r, s); });

}  // namespace

void link_kind_cbram_psw() {}

}  // namespace xbarkit::characterize
