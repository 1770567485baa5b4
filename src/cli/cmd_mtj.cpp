// xbarkit mtj info|trace|psw : the SOT-MTJ macrospin LLGS solver.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "progress_cli.hpp"
#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/core/units.hpp"
#include "xbarkit/mtj/constants.hpp"
#include "xbarkit/mtj/device.hpp"
#include "xbarkit/mtj/switching.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_mtj {
namespace {

using namespace xbarkit::mtj;
using nlohmann::json;

using xbarkit::parse_si;

// I1:I2:N (N evenly spaced currents, inclusive) or a comma-separated list.
std::vector<double> parse_currents(const std::string& text) {
  return xbarkit::parse_si_sweep(text, "A", "--currents", 10000);
}

json info_json(const Device& d) {
  const Derived r = derive(d);
  const double jc = r.h_dl_per_A != 0 ? r.ic0_A / (d.hm.width_m * d.hm.thickness_m) : INFINITY;
  return json{{"name", d.name},
              {"file", d.source_file},
              {"easy_axis", axis_name(d.easy_axis)},
              {"shape", shape_name(d.shape)},
              {"volume_m3", r.volume_m3},
              {"ms_A_per_m", d.ms_A_per_m},
              {"alpha", d.alpha},
              {"temperature_K", d.temperature_K},
              {"demag", {d.demag[0], d.demag[1], d.demag[2]}},
              {"hk_A_per_m", r.hk_A_per_m},
              {"hk_eff_A_per_m", r.hk_eff_A_per_m},
              {"mu0_hk_eff_T", phys::mu0 * r.hk_eff_A_per_m},
              {"stiffness_A_per_m", {r.stiffness1_A_per_m, r.stiffness2_A_per_m}},
              {"delta", r.delta},
              {"h_dl_per_A", r.h_dl_per_A},
              {"h_dl_c_A_per_m", r.h_dl_c_A_per_m},
              {"ic0_A", r.ic0_A},
              {"jc0_A_per_m2", jc},
              {"ic0_model", r.ic0_model},
              {"switching_from", auto_initial(d) > 0 ? std::string("+") + axis_name(d.easy_axis) : std::string("-") + axis_name(d.easy_axis)},
              {"precession_GHz", r.precession_GHz},
              {"thermal_sigma_1ps_A_per_m", r.sigma_thermal_1ps},
              {"relax_auto_s", auto_relax_s(d)},
              {"r_hm_ohm", r.r_hm_ohm},
              {"rp_ohm", d.rp_ohm},
              {"rap_ohm", r.rap_ohm},
              {"tmr", d.tmr}};
}

struct Common {
  std::string device;
  std::string dt, rise = "20p", fall = "20p", relax;
  uint64_t seed = 1;
  int initial = 0;
  bool cold_start = false;
  double tilt_deg = 0;
};

void add_common(CLI::App* cmd, Common& c) {
  cmd->add_option("device", c.device, "Device: a name in models/mtj/ (sot_pma_7nm) or a .toml path")->required();
  cmd->add_option("--dt", c.dt, "Time step (default: the device's simulation.dt_s, 1 ps)");
  cmd->add_option("--rise", c.rise, "Pulse rise time")->capture_default_str();
  cmd->add_option("--fall", c.fall, "Pulse fall time")->capture_default_str();
  cmd->add_option("--relax", c.relax, "Zero-current relaxation after the pulse (default: 3 relaxation times)");
  cmd->add_option("--seed", c.seed, "Random seed")->capture_default_str();
  cmd->add_option("--from", c.initial, "Start in the +u (1) or -u (-1) well; 0 = the well positive current switches out of")
      ->check(CLI::IsMember({-1, 0, 1}))
      ->capture_default_str();
  cmd->add_flag("--cold-start", c.cold_start, "Start exactly at the T = 0 equilibrium instead of a thermal draw");
  cmd->add_option("--tilt-deg", c.tilt_deg, "Tilt the start away from the equilibrium by this angle (degrees; "
                                            "T = 0 needs it for a collinear torque)")
      ->check(CLI::Range(-180.0, 180.0));
}

struct Timing {
  double dt;
  std::string dt_key;
  double rise, fall, relax;
};
Timing timing(const Device& d, const Common& c) {
  Timing t;
  t.dt = c.dt.empty() ? d.default_dt_s : parse_si(c.dt, "s", "--dt");
  t.dt_key = c.dt.empty() ? "simulation.dt_s" : "--dt";
  t.rise = parse_si(c.rise, "s", "--rise");
  t.fall = parse_si(c.fall, "s", "--fall");
  t.relax = c.relax.empty() ? 0.0 : parse_si(c.relax, "s", "--relax");
  if (t.rise < 0) throw xbarkit::InputError("", "--rise", "must be >= 0");
  if (t.fall < 0) throw xbarkit::InputError("", "--fall", "must be >= 0");
  if (!c.relax.empty() && !(t.relax > 0)) throw xbarkit::InputError("", "--relax", "must be > 0");
  return t;
}

const xbarkit::cli::Register reg("mtj", [](CLI::App& app) {
  auto* mtj = app.add_subcommand("mtj", "SOT-MTJ macrospin LLGS solver: device info, m(t) traces, switching probability");
  mtj->require_subcommand(1);

  // info
  {
    struct O {
      std::string device;
      bool json = false;
    };
    auto o = std::make_shared<O>();
    auto* cmd = mtj->add_subcommand("info", "Derived quantities of a device: delta, Hk_eff, critical current, ...");
    cmd->add_option("device", o->device, "Device: a name in models/mtj/ or a .toml path")->required();
    cmd->add_flag("--json", o->json, "Print one JSON object (delta, hk_eff_A_per_m, ic0_A, ...)");
    cmd->callback([o] {
      const Device d = load_device(o->device);
      const json j = info_json(d);
      if (o->json) {
        std::cout << j.dump(2) << "\n";
        return;
      }
      const Derived r = derive(d);
      std::cout << fmt::format("{} ({})\n", d.name, d.source_file);
      if (!d.description.empty()) std::cout << "  " << d.description << "\n";
      std::cout << fmt::format("  easy axis {}, {} {:.4g} x {:.4g} x {:.4g} nm, V = {:.4g} m^3\n", axis_name(d.easy_axis),
                               shape_name(d.shape), d.size_x_m * 1e9, d.size_y_m * 1e9, d.thickness_m * 1e9, r.volume_m3);
      std::cout << fmt::format("  Ms = {:.4g} A/m, alpha = {:.4g}, T = {:.4g} K, N = ({:.4f}, {:.4f}, {:.4f})\n",
                               d.ms_A_per_m, d.alpha, d.temperature_K, d.demag[0], d.demag[1], d.demag[2]);
      std::cout << fmt::format("  mu0 Hk = {:.4g} T, mu0 Hk_eff = {:.4g} T, delta = {:.4g}\n", phys::mu0 * r.hk_A_per_m,
                               phys::mu0 * r.hk_eff_A_per_m, r.delta);
      std::cout << fmt::format("  H_DL per current = {:.4g} A/m per A; critical mu0 H_DL = {:.4g} mT -> Ic0 = {:.4g} uA ({})\n",
                               r.h_dl_per_A, 1e3 * phys::mu0 * r.h_dl_c_A_per_m, 1e6 * r.ic0_A, r.ic0_model);
      std::cout << fmt::format("  positive current switches out of {}\n", j["switching_from"].get<std::string>());
      std::cout << fmt::format("  FMR {:.4g} GHz; thermal field sigma at 1 ps {:.4g} A/m; auto relaxation {:.3g} ns\n",
                               r.precession_GHz, r.sigma_thermal_1ps, 1e9 * auto_relax_s(d));
      std::cout << fmt::format("  R_HM = {:.4g} ohm, RP = {:.4g} ohm, RAP = {:.4g} ohm (TMR {:.3g})\n", r.r_hm_ohm,
                               d.rp_ohm, r.rap_ohm, d.tmr);
    });
  }

  // trace
  {
    struct O {
      Common c;
      std::string current, pulse, output, sample;
    };
    auto o = std::make_shared<O>();
    auto* cmd = mtj->add_subcommand("trace", "Write m(t) of one trajectory to CSV (t_s, current_A, mx, my, mz)");
    add_common(cmd, o->c);
    cmd->add_option("--current", o->current, "Pulse amplitude (A; suffixes m, u: 150u)")->required();
    cmd->add_option("--pulse", o->pulse, "Pulse width, full width at half maximum (s; 10n)")->required();
    cmd->add_option("-o,--output", o->output, "CSV file to write (atomically); '-' = stdout")->required();
    cmd->add_option("--sample", o->sample, "Output interval (default: about 2000 rows)");
    cmd->callback([o] {
      const Device d = load_device(o->c.device);
      const Timing t = timing(d, o->c);
      TraceRequest req;
      req.current_A = parse_si(o->current, "A", "--current");
      req.pulse_s = parse_si(o->pulse, "s", "--pulse");
      if (!(req.pulse_s > 0)) throw xbarkit::InputError("", "--pulse", "must be > 0");
      req.rise_s = t.rise;
      req.fall_s = t.fall;
      req.relax_s = t.relax;
      req.dt_s = t.dt;
      req.dt_key = t.dt_key;
      req.sample_s = o->sample.empty() ? 0.0 : parse_si(o->sample, "s", "--sample");
      req.seed = o->c.seed;
      req.initial = o->c.initial;
      req.thermal_initial = !o->c.cold_start;
      req.tilt_rad = o->c.tilt_deg * phys::pi / 180;
      if (o->output != "-") xbarkit::check_output_file(o->output, "--output");
      xbarkit::StopSignals stop;
      const auto tr = trace(d, req);
      std::string csv = fmt::format("# xbarkit mtj trace {} current_A={:.6g} pulse_s={:.6g} dt_s={:.6g} seed={} stepper={}\n",
                                    d.name, req.current_A, req.pulse_s, req.dt_s, req.seed, tr.stepper);
      csv += "t_s,current_A,mx,my,mz\n";
      for (const auto& s : tr.samples)
        csv += fmt::format("{:.6e},{:.6e},{:.9f},{:.9f},{:.9f}\n", s.t_s, s.current_A, s.m[0], s.m[1], s.m[2]);
      if (o->output == "-") std::cout << csv;
      else xbarkit::write_file_atomic(o->output, csv);
      std::cerr << fmt::format("{} samples; started in {}{}, {}", tr.samples.size(), tr.initial > 0 ? "+" : "-",
                               axis_name(d.easy_axis), tr.switched ? "switched" : "did not switch");
      if (!std::isnan(tr.first_passage_s)) std::cerr << fmt::format("; first crossed m.u = 0 at {:.6e} s", tr.first_passage_s);
      std::cerr << "\n";
    });
  }

  // psw
  {
    struct O {
      Common c;
      std::string currents, pulse;
      int trials = 100;
      unsigned threads = 0;
      bool json = false;
      xbarkit::ProgressMode progress = xbarkit::ProgressMode::automatic;
    };
    auto o = std::make_shared<O>();
    auto* cmd = mtj->add_subcommand("psw", "Monte-Carlo switching probability vs current, with a logistic fit");
    add_common(cmd, o->c);
    cmd->add_option("--currents", o->currents, "I1:I2:N (N currents from I1 to I2) or a comma list (A; 100u:300u:20)")->required();
    cmd->add_option("--pulse", o->pulse, "Pulse width, full width at half maximum (s; 10n)")->required();
    cmd->add_option("--trials", o->trials, "Trajectories per current")->capture_default_str();
    cmd->add_option("--threads", o->threads, "Threads (0 = all cores); results do not depend on it")->capture_default_str();
    xbarkit::cli::add_progress_options(cmd, o->progress);
    cmd->add_flag("--json", o->json, "Print one JSON object: points[{current_A, p_switch, stderr, ...}], fit{i50_A, scale_A, ...}");
    cmd->callback([o] {
      const Device d = load_device(o->c.device);
      const Timing t = timing(d, o->c);
      PswRequest req;
      req.currents_A = parse_currents(o->currents);
      req.pulse_s = parse_si(o->pulse, "s", "--pulse");
      if (!(req.pulse_s > 0)) throw xbarkit::InputError("", "--pulse", "must be > 0");
      if (o->trials < 1) throw xbarkit::InputError("", "--trials", "must be >= 1");
      req.trials = o->trials;
      req.seed = o->c.seed;
      req.threads = o->threads;
      req.dt_s = t.dt;
      req.dt_key = t.dt_key;
      req.rise_s = t.rise;
      req.fall_s = t.fall;
      req.relax_s = t.relax;
      req.initial = o->c.initial;
      req.thermal_initial = !o->c.cold_start;
      req.tilt_rad = o->c.tilt_deg * phys::pi / 180;
      xbarkit::StopSignals stop;  // a long run stops within milliseconds of SIGINT/SIGTERM
      // Created at the first report, when the trajectory count is known; switching_probability calls
      // the callback from one thread at a time.
      std::unique_ptr<xbarkit::ProgressReporter> reporter;
      size_t reported = 0;
      const Progress progress = [&](size_t done, size_t total) {
        if (!reporter) reporter = std::make_unique<xbarkit::ProgressReporter>("psw", "trajectories", total, o->progress);
        reporter->advance(done - reported);
        reported = done;
      };
      const auto r = switching_probability(d, req, progress);
      if (reporter) reporter->finish();
      if (o->json) {
        json pts = json::array();
        for (const auto& p : r.points)
          pts.push_back({{"current_A", p.current_A}, {"p_switch", p.p_switch}, {"stderr", p.stderr_},
                         {"trials", p.trials}, {"switched", p.switched}, {"crossed", p.crossed},
                         {"mean_first_passage_s", std::isnan(p.mean_first_passage_s) ? json(nullptr) : json(p.mean_first_passage_s)}});
        json fit{{"i50_A", r.fit.ok ? json(r.fit.i50_A) : json(nullptr)},
                 {"scale_A", r.fit.ok ? json(r.fit.scale_A) : json(nullptr)},
                 {"i50_err_A", r.fit.ok ? json(r.fit.i50_err_A) : json(nullptr)},
                 {"scale_err_A", r.fit.ok ? json(r.fit.scale_err_A) : json(nullptr)},
                 {"chi2_per_dof", r.fit.ok && std::isfinite(r.fit.chi2_per_dof) ? json(r.fit.chi2_per_dof) : json(nullptr)},
                 {"ok", r.fit.ok},
                 {"note", r.fit.note}};
        json out{{"device", d.name},
                 {"file", d.source_file},
                 {"pulse_s", req.pulse_s},
                 {"rise_s", req.rise_s},
                 {"fall_s", req.fall_s},
                 {"relax_s", r.relax_s},
                 {"dt_s", r.dt_s},
                 {"trials", req.trials},
                 {"seed", req.seed},
                 {"tilt_deg", o->c.tilt_deg},
                 {"m_start", {r.m_start[0], r.m_start[1], r.m_start[2]}},
                 {"from", std::string(r.initial > 0 ? "+" : "-") + axis_name(d.easy_axis)},
                 {"temperature_K", d.temperature_K},
                 {"stepper", d.temperature_K > 0 ? "stochastic_heun" : "runge_kutta_dopri5"},
                 {"points", pts},
                 {"fit", fit},
                 {"run", {{"seconds", r.seconds}, {"threads", r.threads}, {"steps", r.steps}}}};
        std::cout << out.dump(2) << "\n";
        return;
      }
      std::cout << fmt::format("# {}: {} trials/current, pulse {:.4g} ns, dt {:.3g} ps, relax {:.3g} ns, from {}{}, seed {}\n",
                               d.name, req.trials, req.pulse_s * 1e9, r.dt_s * 1e12, r.relax_s * 1e9,
                               r.initial > 0 ? "+" : "-", axis_name(d.easy_axis), req.seed);
      std::cout << fmt::format("{:>14} {:>9} {:>9} {:>9}\n", "current_A", "p_switch", "stderr", "switched");
      for (const auto& p : r.points)
        std::cout << fmt::format("{:>14.6e} {:>9.4f} {:>9.4f} {:>9}\n", p.current_A, p.p_switch, p.stderr_, p.switched);
      if (r.fit.ok)
        std::cout << fmt::format("fit: I50 = {:.6e} +- {:.2e} A, scale = {:.4e} +- {:.2e} A, chi2/dof = {:.3g}\n",
                                 r.fit.i50_A, r.fit.i50_err_A, r.fit.scale_A, r.fit.scale_err_A, r.fit.chi2_per_dof);
      else
        std::cout << "fit: none (" << r.fit.note << ")\n";
      std::cout << fmt::format("# {:.3g} s on {} threads, {:.3g} steps/s\n", r.seconds, r.threads,
                               r.seconds > 0 ? r.steps / r.seconds : 0.0);
    });
  }
});

}  // namespace
}  // namespace xbarkit::cli::cmd_mtj
