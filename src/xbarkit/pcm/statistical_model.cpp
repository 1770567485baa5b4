#include "xbarkit/pcm/statistical_model.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/core/toml_reader.hpp"

namespace xbarkit::pcm {

namespace {
// Stream families under a user seed: programming and reading draw from disjoint streams.
constexpr uint64_t kProgramStreams = 0x50524f4752414dULL;  // "PROGRAM"
constexpr uint64_t kReadStreams = 0x52454144ULL;            // "READ"
// Smallest normalized conductance in the logarithms of the drift fit (aihwkit's clip).
constexpr double kZeroClip = 1e-7;

void check_conductance(const PcmModel& m, double g_S, const char* what) {
  if (!(g_S >= 0 && g_S <= m.g_max_S))
    throw InputError("pcm", what,
                     fmt::format("conductance {} S is outside [0, G_max = {} S]; map weights into [0, G_max]", g_S,
                                 m.g_max_S));
}
void check_time(double t_s) {
  if (!(t_s > 0) || !std::isfinite(t_s))
    throw InputError("pcm", "time",
                     fmt::format("time {} s must be finite and > 0 (seconds since the end of programming)", t_s));
}
}  // namespace

void PcmModel::validate(const std::string& origin) const {
  auto positive = [&](double v, const char* key) {
    if (!(v > 0) || !std::isfinite(v)) throw InputError(origin, key, fmt::format("must be finite and > 0, got {}", v));
  };
  auto scale = [&](double v, const char* key) {
    if (!(v >= 0) || !std::isfinite(v))
      throw InputError(origin, key, fmt::format("is a noise scale (a multiplier of sigma); must be >= 0, got {}", v));
  };
  positive(g_max_S, "model.g_max_S");
  positive(t0_s, "model.t0_s");
  positive(t_read_s, "model.t_read_s");
  scale(prog_noise_scale, "model.prog_noise_scale");
  scale(drift_scale, "model.drift_scale");
  scale(read_noise_scale, "model.read_noise_scale");
  scale(nu_sigma_scale, "model.nu_sigma_scale");
  for (double g : {0.0, 0.5, 1.0})
    if (!(prog_c0_uS + prog_c1_uS * g + prog_c2_uS * g * g >= 0))
      throw InputError(origin, "model.prog_coefficients_uS",
                       fmt::format("give a negative programming sigma at g = {}; sigma must be >= 0", g));
}

double PcmModel::sigma_prog_S(double g_target_S) const {
  check_conductance(*this, g_target_S, "g_target");
  const double g = g_target_S / g_max_S;
  const double s_uS = std::max(prog_c0_uS + prog_c1_uS * g + prog_c2_uS * g * g, 0.0);
  return prog_noise_scale * s_uS * 1e-6 * (g_max_S / 25e-6);
}

double PcmModel::nu_mean(double g_target_S) const {
  check_conductance(*this, g_target_S, "g_target");
  const double g = std::max(g_target_S / g_max_S, kZeroClip);
  return std::clamp(-0.0155 * std::log(g) + 0.0244, 0.049, 0.1);
}

double PcmModel::nu_sigma(double g_target_S) const {
  check_conductance(*this, g_target_S, "g_target");
  const double g = std::max(g_target_S / g_max_S, kZeroClip);
  return nu_sigma_scale * std::clamp(-0.0125 * std::log(g) - 0.0059, 0.008, 0.045);
}

double PcmModel::q_s(double g_prog_S) const {
  const double g = std::abs(g_prog_S) / g_max_S;
  return std::min(0.0088 / std::max(std::pow(g, 0.65), 1e-3), 0.2);
}

double PcmModel::read_noise_growth(double t_s) const {
  check_time(t_s);
  const double l = std::log((t_s + t_read_s) / (2 * t_read_s));
  return l > 0 ? std::sqrt(l) : 0.0;
}

PcmModel load_pcm_model(const std::string& name_or_path) {
  std::filesystem::path path = name_or_path;
  if (!name_or_path.ends_with(".toml")) path = models_dir() / "pcm" / (name_or_path + ".toml");
  if (!std::filesystem::exists(path))
    throw InputError(path.string(), "", fmt::format("PCM device file '{}' not found (shipped: models/pcm/*.toml)", name_or_path));
  const auto doc = TomlDocument::from_file(path);
  const auto root = doc.root();
  if (auto dev = root.table("device")) {
    (void)dev->string("name"), (void)dev->string("description"), (void)dev->string_array("sources");
    dev->reject_unknown_keys();
  }
  PcmModel m;
  const auto t = root.require_table("model");
  m.g_max_S = t.number("g_max_S").value_or(m.g_max_S);
  m.t0_s = t.number("t0_s").value_or(m.t0_s);
  m.t_read_s = t.number("t_read_s").value_or(m.t_read_s);
  if (auto c = t.number_array("prog_coefficients_uS")) {
    if (c->size() != 3) throw t.error("prog_coefficients_uS", fmt::format("needs 3 numbers (c0, c1, c2), got {}", c->size()));
    m.prog_c0_uS = (*c)[0], m.prog_c1_uS = (*c)[1], m.prog_c2_uS = (*c)[2];
  }
  m.prog_noise_scale = t.number("prog_noise_scale").value_or(m.prog_noise_scale);
  m.drift_scale = t.number("drift_scale").value_or(m.drift_scale);
  m.read_noise_scale = t.number("read_noise_scale").value_or(m.read_noise_scale);
  m.nu_sigma_scale = t.number("nu_sigma_scale").value_or(m.nu_sigma_scale);
  t.reject_unknown_keys();
  root.reject_unknown_keys();
  m.validate(path.string());
  return m;
}

ProgrammedDevice program(const PcmModel& m, double g_target_S, Rng& rng) {
  ProgrammedDevice d;
  const double prog = rng.normal(), drift = rng.normal();
  d.g_prog_S = std::max(g_target_S + m.sigma_prog_S(g_target_S) * prog, 0.0);
  d.nu = m.drift_scale * std::abs(m.nu_mean(g_target_S) + m.nu_sigma(g_target_S) * drift);
  return d;
}

ProgrammedDevice program_device(const PcmModel& m, double g_target_S, uint64_t seed, uint64_t index) {
  Rng rng(derive_seed(seed, kProgramStreams), index);
  return program(m, g_target_S, rng);
}

std::vector<ProgrammedDevice> program(const PcmModel& m, const std::vector<double>& targets_S, uint64_t seed) {
  m.validate();
  std::vector<ProgrammedDevice> out(targets_S.size());
  for (size_t k = 0; k < targets_S.size(); ++k) out[k] = program_device(m, targets_S[k], seed, k);
  return out;
}

double drifted_S(const PcmModel& m, const ProgrammedDevice& d, double t_s) {
  check_time(t_s);
  if (t_s <= m.t0_s) return d.g_prog_S;
  return d.g_prog_S * std::pow(t_s / m.t0_s, -d.nu);
}

double read_S(const PcmModel& m, const ProgrammedDevice& d, double t_s, Rng& rng) {
  const double g = drifted_S(m, d, t_s);
  const double sigma = m.read_noise_scale * m.q_s(d.g_prog_S) * m.read_noise_growth(t_s);
  return std::max(g + g * sigma * rng.normal(), 0.0);
}

double read_device(const PcmModel& m, const ProgrammedDevice& d, double t_s, uint64_t seed, uint64_t index) {
  Rng rng(derive_seed(seed, kReadStreams), index);
  return read_S(m, d, t_s, rng);
}

std::vector<double> read(const PcmModel& m, const std::vector<ProgrammedDevice>& devices, double t_s, uint64_t seed) {
  m.validate();
  check_time(t_s);
  std::vector<double> out(devices.size());
  for (size_t k = 0; k < devices.size(); ++k) out[k] = read_device(m, devices[k], t_s, seed, k);
  return out;
}

}  // namespace xbarkit::pcm
