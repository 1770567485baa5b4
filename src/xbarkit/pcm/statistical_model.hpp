#pragma once
// PCM statistical device model for analog inference: programming noise, conductance drift and
// accumulated 1/f read noise of a phase-change device as a function of its normalized conductance
// g = G / G_max. The equations and constants are those measured on ~1 million doped-Ge2Sb2Te5 PCM
// devices and used for the inference results of
//   S. R. Nandakumar et al., "Phase-change memory models for deep learning training and inference",
//   IEEE ICECS 2019 (doi:10.1109/ICECS46596.2019.8964852), and
//   V. Joshi et al., "Accurate deep neural network inference using computational phase-change
//   memory", Nat. Commun. 11, 2473 (2020), Methods,
// as calibrated in IBM's Analog Hardware Acceleration Kit (aihwkit, PCMLikeNoiseModel; the model
// documented in its "Inference and PCM statistical model" guide). With g = G/G_max, G_max = 25 uS:
//   programming:  G_prog = G_T + sigma_prog(g_T) N(0,1), clipped at 0, with
//                 sigma_prog = (0.26348 + 1.9650 g_T - 1.1731 g_T^2) uS x G_max / 25 uS
//   drift:        G(t) = G_prog (t / t0)^(-nu), t0 = 20 s; per device nu = |mu_nu + sigma_nu N(0,1)|
//                 (a folded normal), mu_nu = clip(-0.0155 ln g_T + 0.0244, 0.049, 0.1),
//                 sigma_nu = clip(-0.0125 ln g_T - 0.0059, 0.008, 0.045) (g_T >= 1e-7 in the log)
//   read noise:   G_read(t) = G(t) + G(t) Q_s sqrt(ln((t + t_r) / (2 t_r))) N(0,1), clipped at 0,
//                 Q_s = min(0.0088 / max(g_prog^0.65, 1e-3), 0.2), t_r = 250 ns
// Times t are measured from the end of programming; the drift law is a fit from the first read at
// t0 on (aihwkit's t_inference + t_0 = t), so G(t) = G_prog for t <= t0. The read noise is the
// accumulated 1/f noise of one read at t; like aihwkit it is drawn once per read of the array (for
// inference: once per evaluation time, and the conductances then stay fixed while inputs change).
//
// Randomness: every draw comes from xbarkit::Rng streams derived from an explicit seed and the
// device's index, so the same seed gives the same devices whichever thread programs or reads them.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "xbarkit/core/rng.hpp"

namespace xbarkit::pcm {

struct PcmModel {
  double g_max_S = 25e-6;        // G_max: the conductance normalized to g = 1
  double t0_s = 20;              // drift reference time (first read after programming)
  double t_read_s = 250e-9;      // t_r of the 1/f fit
  // sigma_prog polynomial in g (uS, fitted at G_max = 25 uS; scaled by G_max / 25 uS)
  double prog_c0_uS = 0.26348, prog_c1_uS = 1.9650, prog_c2_uS = -1.1731;
  // Scales of the three processes (1 = as measured; 0 switches a process off).
  double prog_noise_scale = 1, drift_scale = 1, read_noise_scale = 1;
  // Multiplier of sigma_nu alone (1 = as measured; 0: every device of a target drifts with mu_nu,
  // e.g. to test drift compensation against its closed form (t/t0)^nu).
  double nu_sigma_scale = 1;

  // Refuses non-physical parameters (InputError naming `origin` and the field).
  void validate(const std::string& origin = "pcm model") const;

  double sigma_prog_S(double g_target_S) const;  // programming-noise sigma of a target conductance
  double nu_mean(double g_target_S) const;       // mu_nu(g), clipped as published
  double nu_sigma(double g_target_S) const;      // sigma_nu(g), clipped as published
  double q_s(double g_prog_S) const;             // 1/f noise amplitude Q_s(g)
  double read_noise_growth(double t_s) const;    // sqrt(ln((t + t_r) / (2 t_r))), 0 for t <= t_r
};

// A device file (models/pcm/*.toml, e.g. models/pcm/joshi2020.toml): [device] name, description,
// sources; [model] g_max_S, t0_s, t_read_s, prog_coefficients_uS (3 numbers), prog_noise_scale,
// drift_scale, read_noise_scale, nu_sigma_scale (any may be omitted: the defaults above). Unknown keys and
// non-physical values are refused naming the file and key. A bare name is looked up in models/pcm/.
PcmModel load_pcm_model(const std::string& name_or_path);

// One programmed device: its conductance right after programming and its drift exponent.
struct ProgrammedDevice {
  double g_prog_S = 0;
  double nu = 0;
};

// Programs one device to `g_target_S` (in [0, G_max]; InputError otherwise) with draws from `rng`
// (two normals: the programming error, then the drift exponent).
ProgrammedDevice program(const PcmModel& m, double g_target_S, Rng& rng);
// Programs device `index` of an array from its own stream under `seed`: the draws depend on (seed,
// index) only, so any split of the devices over threads programs the same array.
ProgrammedDevice program_device(const PcmModel& m, double g_target_S, uint64_t seed, uint64_t index);
// Programs device k of `targets_S` as program_device(m, targets_S[k], seed, k).
std::vector<ProgrammedDevice> program(const PcmModel& m, const std::vector<double>& targets_S, uint64_t seed);

// Noise-free drifted conductance at time t (> 0 s after programming; InputError otherwise).
double drifted_S(const PcmModel& m, const ProgrammedDevice& d, double t_s);
// One read at time t: drifted conductance plus accumulated 1/f read noise (one normal from `rng`).
double read_S(const PcmModel& m, const ProgrammedDevice& d, double t_s, Rng& rng);
// One read of device `index` at time t from its own read stream under `seed` (disjoint from the
// programming streams of the same seed).
double read_device(const PcmModel& m, const ProgrammedDevice& d, double t_s, uint64_t seed, uint64_t index);
// Reads every device at time t: device k as read_device(m, devices[k], t_s, seed, k).
std::vector<double> read(const PcmModel& m, const std::vector<ProgrammedDevice>& devices, double t_s, uint64_t seed);

}  // namespace xbarkit::pcm
