#include "xbarkit/transient/read.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "xbarkit/circuit/devices.hpp"
#include "xbarkit/circuit/solver.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/transient/network.hpp"

namespace xbarkit::transient {

using netlist::BranchSpec;
using netlist::Crossbar;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool is_ladder(const Crossbar& x) { return x.kind().topology() == netlist::Topology::column_ladder; }

// Linear interpolation of a sampled waveform at time t (clamped to its ends).
double sample(const std::vector<double>& t, const std::vector<double>& y, double time) {
  if (time <= t.front()) return y.front();
  if (time >= t.back()) return y.back();
  const size_t k = static_cast<size_t>(std::upper_bound(t.begin(), t.end(), time) - t.begin());
  const double w = (time - t[k - 1]) / (t[k] - t[k - 1]);
  return y[k - 1] + w * (y[k] - y[k - 1]);
}

// Trapezoidal integral of y over [0, t_end] on the waveform's own grid.
double integral_to(const std::vector<double>& t, const std::vector<double>& y, double t_end) {
  double s = 0;
  for (size_t k = 1; k < t.size(); ++k) {
    if (t[k - 1] >= t_end) break;
    const double t1 = std::min(t[k], t_end);
    const double y1 = t[k] <= t_end ? y[k] : sample(t, y, t_end);
    s += 0.5 * (y[k - 1] + y1) * (t1 - t[k - 1]);
  }
  return s;
}

}  // namespace

std::string source_group(const std::string& name) {
  if (name.rfind("VWL", 0) == 0 || name.rfind("VROW", 0) == 0) return "wordline_drivers";
  if (name == "VCLAMP" || name == "VBL") return "bitline";
  if (name == "VDD") return "vdd";
  return "other";
}

bool ReadResult::all_settled() const { return std::all_of(settled.begin(), settled.end(), [](bool s) { return s; }); }

std::vector<std::string> ReadResult::unsettled_report() const {
  std::vector<std::string> out;
  for (size_t j = 0; j < settled.size(); ++j) {
    if (settled[j]) continue;
    const double f = final_current_A[j];
    out.push_back(fmt::format("column {} did not settle within {:.4g} s: its current ({:.4g} A at the end) still moved by "
                              "{:.3g} A ({:.2f}%) over the last fifth of the window (band +-{:.3g} A); use a longer --window-s",
                              j, window_s, f, tail_drift_A[j], f != 0 ? 100 * tail_drift_A[j] / std::abs(f) : 0.0,
                              std::max(settle_fraction * std::abs(f), band_floor_A)));
  }
  return out;
}

void require_read_transient(const Crossbar& x) {
  x.validate();
  const std::string& tf = x.technology_file;
  netlist::require_capacitance(x.read_driver.r_driver_ohm, tf, "read.r_driver", "the wordline driver resistance (ohm)");
  netlist::require_capacitance(x.read_driver.t_slew_s, tf, "read.t_slew", "the wordline driver slew (s)");
  if (!(x.read_driver.r_driver_ohm > 0)) throw InputError(tf, "read.r_driver", "must be > 0 ohm for a read transient");
  if (!(x.read_driver.t_slew_s > 0)) throw InputError(tf, "read.t_slew", "must be > 0 s for a read transient");
  if (!x.variation.empty())
    throw InputError("", "variation", "read transients of arrays with mismatch draws are not supported yet: "
                                      "disable [variation] for --analysis read");
  if (x.user_models) throw InputError("", "user_models", "read transients use the shipped device models only");
  // Analog cell states (pcm) enter both engines through the same grid_cell_at; ladder kinds have none.
  if (!x.state.empty() && is_ladder(x))
    throw InputError("", "state", "read transients of analog-state ladder arrays are not supported");
  const auto key = [&](const char* k) { return fmt::format("{}.{}", x.cell_name(), k); };
  if (is_ladder(x)) {
    x.kind().ladder_cell_caps(x);  // throws naming its own missing keys
    netlist::require_capacitance(x.parasitics.c.c_wordline_F, tf, key("c_wordline"), "the wordline wire capacitance per cell");
    if (x.parasitics.r_bitline_ohm > 0)
      netlist::require_capacitance(x.parasitics.c.c_bitline_F, tf, key("c_bitline"), "the bitline wire capacitance per cell");
    if (x.parasitics.r_sourceline_ohm > 0)
      netlist::require_capacitance(x.parasitics.c.c_sourceline_F, tf, key("c_sourceline"), "the source-line wire capacitance per cell");
  } else {
    x.kind().grid_cell_caps(x);
    netlist::require_capacitance(x.parasitics.c.c_wordline_F, tf, key("c_wordline"), "the row wire capacitance per cell");
    if (x.parasitics.r_bitline_ohm > 0)
      netlist::require_capacitance(x.parasitics.c.c_bitline_F, tf, key("c_bitline"), "the column wire capacitance per cell");
  }
}

double auto_window(const Crossbar& x) {
  require_read_transient(x);
  const auto& d = x.read_driver;
  auto fin = [](double v) { return std::isfinite(v) ? v : 0.0; };
  const double i_cell = std::max(std::abs(circuit::isolated_cell_current(x, true, true)), 1e-12);
  const double r_cell = std::max(x.v_read_V, 0.05) / i_cell;
  double c_tap = fin(x.parasitics.c.c_wordline_F), c_cell = 0;
  if (is_ladder(x)) {
    const auto caps = x.kind().ladder_cell_caps(x);
    c_tap += caps.wordline_F + caps.gate_fins * MvsGateCharge(x.transistor, 1).oxide_capacitance_F();
    c_cell = caps.internal_F + caps.bitline_internal_F + caps.bitline_F + caps.sourceline_F;
  } else {
    const auto caps = x.kind().grid_cell_caps(x);
    c_tap += caps.row_F + caps.cell_F;
    c_cell = caps.cell_F + caps.column_F;
  }
  const double c_col = fin(x.parasitics.c.c_bitline_F) + fin(x.parasitics.c.c_sourceline_F);
  const double tau_wl = d.r_driver_ohm * x.cols * c_tap + x.parasitics.r_wordline_ohm * x.cols * x.cols / 2.0 * c_tap;
  const double tau_col = r_cell * (c_cell + c_col) +
                         (x.parasitics.r_bitline_ohm + x.parasitics.r_sourceline_ohm) * x.rows * x.rows / 2.0 * (c_col + c_cell);
  return 2 * d.t_slew_s + 12 * (tau_wl + tau_col);
}

ReadResult summarize_read(const Crossbar& x, std::string engine, double window_s, double fraction, std::vector<Wave> columns,
                          const std::vector<Wave>& sources) {
  ReadResult r;
  r.engine = std::move(engine);
  r.window_s = window_s;
  r.settle_fraction = fraction;
  r.band_floor_A = fraction * std::abs(circuit::isolated_cell_current(x, true, true));
  bool all = true;
  double latency = 0;
  for (size_t j = 0; j < columns.size(); ++j) {
    const auto& w = columns[j];
    // The final current is the window's last value; it counts as final only if the waveform has
    // stopped moving: over the last fifth of the window it stays within half the band of it.
    const double f = w.y.back();
    r.final_current_A.push_back(f);
    const double band = std::max(fraction * std::abs(f), r.band_floor_A);
    r.end_current_A.push_back(w.y.back());
    double tail = 0;
    for (size_t k = 0; k < w.t.size(); ++k)
      if (w.t[k] >= 0.8 * window_s) tail = std::max(tail, std::abs(w.y[k] - f));
    r.tail_drift_A.push_back(tail);
    // Last sample outside the band; the settling time is where the waveform re-enters it (linear
    // between that sample and the next).
    size_t last_out = w.t.size();
    for (size_t k = w.t.size(); k-- > 0;)
      if (std::abs(w.y[k] - f) > band) {
        last_out = k;
        break;
      }
    double ts = 0;
    bool ok = true;
    if (last_out == w.t.size() - 1 || tail > band / 2) ok = false;
    else if (last_out < w.t.size()) {
      const double y0 = w.y[last_out] - f, y1 = w.y[last_out + 1] - f;
      const double target = y0 > 0 ? band : -band;
      const double frac = (y0 - target) / (y0 - y1);
      ts = w.t[last_out] + std::clamp(frac, 0.0, 1.0) * (w.t[last_out + 1] - w.t[last_out]);
    }
    r.settled.push_back(ok);
    r.settle_s.push_back(ok ? ts : kNaN);
    all = all && ok;
    if (ok) latency = std::max(latency, ts);
  }
  r.read_latency_s = all ? latency : kNaN;
  const double t_end = all ? latency : window_s;
  for (const auto& s : sources) {
    SourceEnergy e{s.name, source_group(s.name), integral_to(s.t, s.y, t_end)};
    auto it = std::find_if(r.sources.begin(), r.sources.end(), [&](const SourceEnergy& o) { return o.name == s.name; });
    if (it == r.sources.end()) r.sources.push_back(e);
    else it->energy_J += e.energy_J;
    r.read_energy_J += e.energy_J;
  }
  std::sort(r.sources.begin(), r.sources.end(), [](const SourceEnergy& a, const SourceEnergy& b) { return a.name < b.name; });
  for (size_t j = 0; j < columns.size(); ++j) r.column_index.push_back(static_cast<int>(j));
  r.columns = std::move(columns);
  return r;
}

namespace {

// Everything a column network refers to (devices, cell models) lives as long as the network.
struct ColumnDevices {
  std::vector<std::unique_ptr<circuit::MvsFet>> fets;
  std::vector<std::shared_ptr<const netlist::BranchModel>> models;
};

// Adds device `d` of a cell between nodes a and b of `net`; `gate` drives a transistor.
void add_device(Network& net, const BranchSpec& d, const Crossbar& x, int a, int b, Signal gate, ColumnDevices& keep,
                const circuit::MvsFet* fet) {
  switch (d.kind) {
    case BranchSpec::Kind::transistor: net.transistor(a, b, fet, std::move(gate)); break;
    case BranchSpec::Kind::reram: net.reram(a, b, circuit::Reram(x.reram, d.reram_gap_m)); break;
    case BranchSpec::Kind::resistor:
      if (std::isfinite(d.resistance_ohm)) net.resistor(a, b, 1 / d.resistance_ohm);
      break;
    case BranchSpec::Kind::custom:
      keep.models.push_back(d.custom);
      net.branch(a, b, d.custom.get());
      break;
  }
}

struct NetworkRun {
  IntegrateResult res;
  std::vector<Wave> sense;    // per column of this network
  std::vector<Wave> sources;  // power per source
};

IntegrateOptions integrate_options(const Crossbar& x, const ReadOptions& opt, double window) {
  IntegrateOptions io;
  io.t_stop_s = window;
  io.h_max_s = window / std::max(opt.native_points, 10);
  io.record_stage_points = true;
  io.lte_abs_V = opt.lte_abs_V;
  io.lte_rel = opt.lte_rel;
  io.breakpoints = {x.read_driver.t_slew_s};
  return io;
}

Wave power_wave(const std::string& name, const std::vector<double>& t, const std::vector<double>& i_out, const Signal& v) {
  Wave w{name, t, {}};
  w.y.reserve(t.size());
  for (size_t k = 0; k < t.size(); ++k) w.y.push_back(v.at(t[k]) * i_out[k]);
  return w;
}

// The wordline of an active row of a ladder array: driver ramp behind r_driver at the column-0
// end, r_wordline per segment, at every tap the wire and cell capacitance and the MVS gate charge.
struct Wordline {
  Network net;
  std::vector<int> tap;  // node of column c's tap
  int driver = 0;
  MvsGateCharge gq;
};

void build_wordline(const Crossbar& x, Wordline& w) {
  const auto caps = x.kind().ladder_cell_caps(x);
  w.gq = MvsGateCharge(x.transistor, std::max(caps.gate_fins, 1));
  w.driver = w.net.add_fixed(Signal::ramp(x.read_driver.t_slew_s, x.vdd_V));
  const int wd = w.net.add_node();
  w.net.resistor(w.driver, wd, 1 / x.read_driver.r_driver_ohm);
  const double rwl = x.parasitics.r_wordline_ohm;
  int prev = wd;
  for (int c = 0; c < x.cols; ++c) {
    int node = wd;
    if (rwl > 0) {
      node = w.net.add_node();
      w.net.resistor(prev, node, 1 / rwl);
      prev = node;
    }
    w.tap.push_back(node);
    w.net.capacitor(node, Network::kGround, x.parasitics.c.c_wordline_F + caps.wordline_F);
    if (caps.gate_fins > 0) w.net.gate_charge(node, &w.gq);
  }
}

// Column j of a ladder array (netlist::Cell::ladder_cell / ladder_rails / ladder_cell_caps), its
// wordline taps following `wl` for active rows.
NetworkRun run_column(const Crossbar& x, int j, const Trajectory* wl, const std::vector<int>& taps,
                      const circuit::CrossbarSolution& dc_off, const ReadOptions& opt, double window) {
  const auto& kind = x.kind();
  const auto rails = kind.ladder_rails(x);
  const auto caps = kind.ladder_cell_caps(x);
  const double rbl = x.parasitics.r_bitline_ohm, rsl = x.parasitics.r_sourceline_ohm;
  const bool bl_ideal = rbl == 0, sl_ideal = rsl == 0;
  Network net;
  const int bt = net.add_fixed(Signal::constant(rails.v_bitline_V));     // bitline source (VBL or VCLAMP via VSENSE)
  const int st = net.add_fixed(Signal::constant(rails.v_sourceline_V));  // source-line end (ground or the 0 V sense)
  std::vector<int> b(static_cast<size_t>(x.rows)), xi(b.size()), s(b.size());
  for (int i = 0; i < x.rows; ++i) {
    const size_t cell = static_cast<size_t>(i) * x.cols + j;
    const auto u = static_cast<size_t>(i);
    b[u] = bl_ideal ? bt : net.add_node(dc_off.bitline_V.empty() ? rails.v_bitline_V : dc_off.bitline_V[cell]);
    xi[u] = net.add_node(dc_off.internal_V.empty() ? 0.0 : dc_off.internal_V[cell]);
    s[u] = sl_ideal ? st : net.add_node(dc_off.sourceline_V.empty() ? rails.v_sourceline_V : dc_off.sourceline_V[cell]);
  }
  if (!bl_ideal) {
    for (int i = 1; i < x.rows; ++i) net.resistor(b[static_cast<size_t>(i - 1)], b[static_cast<size_t>(i)], 1 / rbl);
    if (rails.bitline_terminal_top) net.resistor(bt, b.front(), 1 / rbl);
    else net.resistor(b.back(), bt, 1 / rbl);
  }
  if (!sl_ideal) {
    for (int i = 1; i < x.rows; ++i) net.resistor(s[static_cast<size_t>(i - 1)], s[static_cast<size_t>(i)], 1 / rsl);
    net.resistor(s.back(), st, 1 / rsl);
  }
  ColumnDevices keep;
  circuit::MvsFet fet(x.transistor, x.nfin);
  for (int i = 0; i < x.rows; ++i) {
    const auto u = static_cast<size_t>(i);
    const bool in = x.input(i);
    const auto spec = kind.ladder_cell(x, in, x.weight(i, j));
    auto gate_of = [&](int branch, const BranchSpec& d) {
      if (branch == caps.wordline_branch && in) return Signal{{}, {}, wl, taps[static_cast<size_t>(j)]};
      return Signal::constant(branch == caps.wordline_branch ? 0.0 : d.gate_V);
    };
    add_device(net, spec.e1, x, b[u], xi[u], gate_of(1, spec.e1), keep, &fet);
    add_device(net, spec.e2, x, xi[u], s[u], gate_of(2, spec.e2), keep, &fet);
    if (!bl_ideal) net.capacitor(b[u], Network::kGround, x.parasitics.c.c_bitline_F + caps.bitline_F);
    net.capacitor(xi[u], Network::kGround, caps.internal_F);
    if (!sl_ideal) net.capacitor(s[u], Network::kGround, x.parasitics.c.c_sourceline_F + caps.sourceline_F);
    net.capacitor(b[u], xi[u], caps.bitline_internal_F);
  }
  auto io = integrate_options(x, opt, window);
  NetworkRun run;
  run.res = integrate(net, {bt, st}, io);
  const auto& t = run.res.t;
  // Sense current, positive when the column conducts: out of the bitline source when the sense
  // amplifier clamps the bitline's bottom (sram8t), into the source-line sense node otherwise.
  Wave sense{fmt::format("column{}", j), t, {}};
  if (rails.bitline_terminal_top)
    for (double i : run.res.fixed_current_A[1]) sense.y.push_back(-i);
  else
    sense.y = run.res.fixed_current_A[0];
  run.sense.push_back(std::move(sense));
  run.sources.push_back(power_wave(rails.bitline_terminal_top ? "VBL" : "VCLAMP", t, run.res.fixed_current_A[0],
                                   net.fixed_signal(bt)));
  return run;
}

// A passive grid: every row's driver behind r_driver, row lines, column lines down to their 0 V
// sense nodes, cells and their capacitances; one coupled network.
NetworkRun run_grid(const Crossbar& x, const ReadOptions& opt, double window) {
  const auto caps = x.kind().grid_cell_caps(x);
  const double rwl = x.parasitics.r_wordline_ohm, rbl = x.parasitics.r_bitline_ohm;
  Network net;
  std::vector<int> drv, sn;
  for (int i = 0; i < x.rows; ++i)
    drv.push_back(net.add_fixed(x.input(i) ? Signal::ramp(x.read_driver.t_slew_s, x.v_read_V) : Signal::constant(0)));
  for (int j = 0; j < x.cols; ++j) sn.push_back(net.add_fixed(Signal::constant(0)));
  std::vector<int> row(static_cast<size_t>(x.rows) * x.cols), col(row.size());
  for (int i = 0; i < x.rows; ++i) {
    const int rd = net.add_node();
    net.resistor(drv[static_cast<size_t>(i)], rd, 1 / x.read_driver.r_driver_ohm);
    int prev = rd;
    for (int c = 0; c < x.cols; ++c) {
      int node = rd;
      if (rwl > 0) {
        node = net.add_node();
        net.resistor(prev, node, 1 / rwl);
        prev = node;
      }
      row[static_cast<size_t>(i) * x.cols + c] = node;
    }
  }
  for (int j = 0; j < x.cols; ++j)
    for (int i = 0; i < x.rows; ++i) {
      const size_t k = static_cast<size_t>(i) * x.cols + j;
      col[k] = rbl > 0 ? net.add_node() : sn[static_cast<size_t>(j)];
      if (rbl > 0 && i > 0) net.resistor(col[k - static_cast<size_t>(x.cols)], col[k], 1 / rbl);
      if (rbl > 0 && i == x.rows - 1) net.resistor(col[k], sn[static_cast<size_t>(j)], 1 / rbl);
    }
  ColumnDevices keep;
  for (int i = 0; i < x.rows; ++i)
    for (int j = 0; j < x.cols; ++j) {
      const size_t k = static_cast<size_t>(i) * x.cols + j;
      add_device(net, netlist::grid_cell_at(x, i, j), x, row[k], col[k], Signal::constant(0), keep, nullptr);
      net.capacitor(row[k], Network::kGround, x.parasitics.c.c_wordline_F + caps.row_F);
      if (rbl > 0) net.capacitor(col[k], Network::kGround, x.parasitics.c.c_bitline_F + caps.column_F);
      net.capacitor(row[k], col[k], caps.cell_F);
    }
  std::vector<int> probes = sn;
  probes.insert(probes.end(), drv.begin(), drv.end());
  auto io = integrate_options(x, opt, window);
  NetworkRun run;
  run.res = integrate(net, probes, io);
  const auto& t = run.res.t;
  for (int j = 0; j < x.cols; ++j) {
    Wave w{fmt::format("column{}", j), t, {}};
    for (double i : run.res.fixed_current_A[static_cast<size_t>(j)]) w.y.push_back(-i);
    run.sense.push_back(std::move(w));
  }
  for (int i = 0; i < x.rows; ++i)
    if (x.input(i))
      run.sources.push_back(power_wave(fmt::format("VROW{}", i), t, run.res.fixed_current_A[static_cast<size_t>(x.cols + i)],
                                       net.fixed_signal(drv[static_cast<size_t>(i)])));
  return run;
}

}  // namespace

std::vector<int> spread_columns(int cols, int count) {
  std::vector<int> c;
  if (count >= cols || count <= 0) {
    for (int j = 0; j < cols; ++j) c.push_back(j);
    return c;
  }
  if (count == 1) return {cols - 1};
  for (int i = 0; i < count; ++i) c.push_back(static_cast<int>(std::lround(double(i) * (cols - 1) / (count - 1))));
  c.erase(std::unique(c.begin(), c.end()), c.end());
  return c;
}

ReadResult read_native(const Crossbar& x, const ReadOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  require_read_transient(x);
  if (!(opt.settle_fraction > 0 && opt.settle_fraction < 1))
    throw InputError("", "--settle", fmt::format("the settling fraction must be in (0, 1), got {}", opt.settle_fraction));
  const double window = opt.window_s > 0 ? opt.window_s : auto_window(x);
  std::vector<int> col_ids = opt.columns;
  if (col_ids.empty())
    for (int j = 0; j < x.cols; ++j) col_ids.push_back(j);
  for (int j : col_ids)
    if (j < 0 || j >= x.cols)
      throw InputError("", "columns", fmt::format("column {} is outside the array's {} columns", j, x.cols));
  for (size_t i = 1; i < col_ids.size(); ++i)
    if (col_ids[i] <= col_ids[i - 1])
      throw InputError("", "columns", "the columns must be listed in increasing order, each once");
  if (!is_ladder(x) && col_ids.size() != static_cast<size_t>(x.cols))
    throw InputError("", "columns", "a column subset needs a column-ladder array (a passive grid is one coupled network)");
  const size_t n_sim = col_ids.size();
  std::vector<Wave> sense(n_sim), sources;
  int steps = 0;
  if (is_ladder(x)) {
    // The operating point before the read: every wordline at 0 V (the native DC ladder solver).
    Crossbar off = x;
    std::fill(off.inputs.begin(), off.inputs.end(), 0);
    circuit::SolveOptions so;
    so.node_voltages = true;
    const auto dc_off = circuit::solve_crossbar(off, so);
    Wordline wl;
    bool any_active = std::any_of(x.inputs.begin(), x.inputs.end(), [](uint8_t v) { return v != 0; });
    IntegrateResult wl_res;
    if (any_active) {
      build_wordline(x, wl);
      auto io = integrate_options(x, opt, window);
      io.record_trajectory = true;
      wl_res = integrate(wl.net, {wl.driver}, io);
      steps += wl_res.steps;
      // Every active row's driver delivers the same power.
      const auto p = power_wave("", wl_res.t, wl_res.fixed_current_A[0], wl.net.fixed_signal(wl.driver));
      for (int i = 0; i < x.rows; ++i)
        if (x.input(i)) sources.push_back({fmt::format("VWL{}", i), p.t, p.y});
    }
    std::vector<NetworkRun> runs(n_sim);
    std::exception_ptr failure;
    std::mutex m;
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i; (i = next++) < n_sim;) {
        try {
          runs[i] = run_column(x, col_ids[i], any_active ? &wl_res.trajectory : nullptr, wl.tap, dc_off, opt, window);
        } catch (...) {
          std::lock_guard<std::mutex> lock(m);
          if (!failure) failure = std::current_exception();
        }
      }
    };
    const unsigned threads = std::max(1u, std::min<unsigned>(opt.threads == 0 ? std::thread::hardware_concurrency() : opt.threads,
                                                             static_cast<unsigned>(n_sim)));
    std::vector<std::thread> pool;
    for (unsigned k = 1; k < threads; ++k) pool.emplace_back(worker);
    worker();
    for (auto& th : pool) th.join();
    if (failure) std::rethrow_exception(failure);
    for (size_t i = 0; i < n_sim; ++i) {
      auto& r = runs[i];
      steps += r.res.steps;
      sense[i] = std::move(r.sense.front());
      for (auto& s : r.sources) sources.push_back(std::move(s));
    }
  } else {
    auto run = run_grid(x, opt, window);
    steps += run.res.steps;
    sense = std::move(run.sense);
    sources = std::move(run.sources);
  }
  auto r = summarize_read(x, "native", window, opt.settle_fraction, std::move(sense), sources);
  r.steps = steps;
  r.active_rows = static_cast<int>(std::count_if(x.inputs.begin(), x.inputs.end(), [](uint8_t v) { return v != 0; }));
  if (is_ladder(x)) {
    // Sources are [VWL<i> for active rows..., bitline source of column 0, 1, ...] (see above).
    const double t_end = r.all_settled() ? r.read_latency_s : window;
    const size_t first_column = static_cast<size_t>(r.active_rows);
    for (size_t i = 0; i < n_sim; ++i) {
      const auto& w = sources[first_column + i];
      r.column_energy_J.push_back(integral_to(w.t, w.y, t_end));
    }
    if (r.active_rows > 0) r.wordline_energy_per_row_J = integral_to(sources[0].t, sources[0].y, t_end);
  }
  r.column_index = std::move(col_ids);
  r.elapsed_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace xbarkit::transient
