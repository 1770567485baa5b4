// SOT-MTJ switching Monte Carlo (mtj/switching.hpp) and device quantities (mtj/device.hpp).
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <pybind11/stl.h>

#include "common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/switching.hpp"

namespace xbarkit::python {

namespace {

py::dict device_dict(const mtj::Device& d) {
  const auto r = mtj::derive(d);
  py::dict out;
  out["name"] = d.name;
  out["file"] = d.source_file;
  out["easy_axis"] = std::string(mtj::axis_name(d.easy_axis));
  out["temperature_K"] = d.temperature_K;
  out["volume_m3"] = r.volume_m3;
  out["hk_eff_A_per_m"] = r.hk_eff_A_per_m;
  out["delta"] = r.delta;
  out["ic0_A"] = r.ic0_A;
  out["ic0_model"] = r.ic0_model;
  out["precession_GHz"] = r.precession_GHz;
  out["relax_auto_s"] = mtj::auto_relax_s(d);
  out["default_dt_s"] = d.default_dt_s;
  out["rp_ohm"] = d.rp_ohm;
  out["rap_ohm"] = r.rap_ohm;
  return out;
}

py::dict psw(const std::string& device, py::handle currents_A, double pulse_s, int trials, long long seed,
             long long threads, std::optional<double> dt_s, double rise_s, double fall_s, std::optional<double> relax_s,
             int initial, bool thermal_initial) {
  const auto d = mtj::load_device(device);
  mtj::PswRequest req;
  req.currents_A = real_arg(currents_A, "currents_A", {{kAny}}, "(n,)");
  if (req.currents_A.empty()) throw py::value_error("currents_A: expected at least one current");
  if (req.currents_A.size() > 10000)
    throw py::value_error(fmt::format("currents_A: at most 10000 currents, got {}", req.currents_A.size()));
  if (!(pulse_s > 0) || !std::isfinite(pulse_s)) throw py::value_error(fmt::format("pulse_s: must be > 0, got {}", pulse_s));
  if (trials < 1) throw py::value_error(fmt::format("trials: must be >= 1, got {}", trials));
  if (!(rise_s >= 0) || !std::isfinite(rise_s)) throw py::value_error(fmt::format("rise_s: must be >= 0, got {}", rise_s));
  if (!(fall_s >= 0) || !std::isfinite(fall_s)) throw py::value_error(fmt::format("fall_s: must be >= 0, got {}", fall_s));
  if (relax_s && (!(*relax_s > 0) || !std::isfinite(*relax_s)))
    throw py::value_error(fmt::format("relax_s: must be > 0 (or None for automatic), got {}", *relax_s));
  if (initial < -1 || initial > 1) throw py::value_error(fmt::format("initial: must be -1, 0 or 1, got {}", initial));
  req.pulse_s = pulse_s;
  req.trials = trials;
  req.seed = non_negative(seed, "seed");
  req.threads = static_cast<unsigned>(non_negative(threads, "threads"));
  req.dt_s = dt_s ? *dt_s : d.default_dt_s;
  req.dt_key = dt_s ? "dt_s" : "simulation.dt_s";
  req.rise_s = rise_s;
  req.fall_s = fall_s;
  req.relax_s = relax_s.value_or(0.0);
  req.initial = initial;
  req.thermal_initial = thermal_initial;
  mtj::PswResult r;
  {
    py::gil_scoped_release release;
    r = mtj::switching_probability(d, req);
  }
  const size_t n = r.points.size();
  std::vector<double> current(n), p(n), se(n);
  std::vector<int32_t> switched(n);
  for (size_t k = 0; k < n; ++k) {
    current[k] = r.points[k].current_A;
    p[k] = r.points[k].p_switch;
    se[k] = r.points[k].stderr_;
    switched[k] = r.points[k].switched;
  }
  py::dict fit;
  const auto num = [&](double v) -> py::object { return r.fit.ok && std::isfinite(v) ? py::object(py::float_(v)) : py::none(); };
  fit["i50_A"] = num(r.fit.i50_A);
  fit["scale_A"] = num(r.fit.scale_A);
  fit["i50_err_A"] = num(r.fit.i50_err_A);
  fit["scale_err_A"] = num(r.fit.scale_err_A);
  fit["chi2_per_dof"] = num(r.fit.chi2_per_dof);
  fit["ok"] = r.fit.ok;
  fit["note"] = r.fit.note;
  py::dict out;
  out["device"] = d.name;
  out["file"] = d.source_file;
  out["pulse_s"] = req.pulse_s;
  out["rise_s"] = req.rise_s;
  out["fall_s"] = req.fall_s;
  out["relax_s"] = r.relax_s;
  out["dt_s"] = r.dt_s;
  out["trials"] = req.trials;
  out["seed"] = req.seed;
  out["from"] = std::string(r.initial > 0 ? "+" : "-") + mtj::axis_name(d.easy_axis);
  out["temperature_K"] = d.temperature_K;
  out["current_A"] = to_numpy(std::move(current));
  out["p_switch"] = to_numpy(std::move(p));
  out["stderr"] = to_numpy(std::move(se));
  out["switched"] = to_numpy(std::move(switched));
  out["outcomes"] = to_numpy(std::move(r.outcomes), {static_cast<py::ssize_t>(n), req.trials});
  out["fit"] = fit;
  out["seconds"] = r.seconds;
  out["threads"] = r.threads;
  out["steps"] = r.steps;
  return out;
}

}  // namespace

void bind_mtj(py::module_& m) {
  m.def(
      "mtj_device", [](const std::string& device) { return device_dict(mtj::load_device(device)); }, py::arg("device"),
      "Derived quantities of an SOT-MTJ device (a name in models/mtj/ or a .toml path): delta, hk_eff_A_per_m, "
      "ic0_A, ...");
  m.def("mtj_psw", &psw, py::arg("device"), py::arg("currents_A"), py::arg("pulse_s"), py::kw_only(),
        py::arg("trials") = 100, py::arg("seed") = 1, py::arg("threads") = 0, py::arg("dt_s") = py::none(),
        py::arg("rise_s") = 20e-12, py::arg("fall_s") = 20e-12, py::arg("relax_s") = py::none(),
        py::arg("initial") = 0, py::arg("thermal_initial") = true,
        R"doc(
Monte-Carlo switching probability of an SOT-MTJ (as `xbarkit mtj psw`): P_sw per current with its
binomial standard error, the switched flag of every trajectory (outcomes, currents x trials) and the
maximum-likelihood logistic fit. Bit-identical for any thread count; the GIL is released.
dt_s defaults to the device's [simulation] dt_s; relax_s None = automatic (3 relaxation times);
initial: +1 / -1 well, 0 = the well positive current switches out of.
)doc");
}

}  // namespace xbarkit::python
