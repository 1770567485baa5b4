#pragma once
// A real-valued network's matrix products on analog PCM tiles (nn::MatmulEngine), as in
//   V. Joshi et al., "Accurate deep neural network inference using computational phase-change
//   memory", Nat. Commun. 11, 2473 (2020),
// with the device model of statistical_model.hpp and the tiles of analog_tile.hpp.
//
// Mapping (one engine = one programming of the whole network, read at one time t):
//   - weights: W[o][n] = s_o (g+[o][n] - g-[o][n]), g = G / G_max, G_max = the model's 25 uS; the
//     positive part on G+, the negative part on G-, the other device of the pair at target 0 (as in
//     aihwkit's single-pair PCM mapping). s_o = max_n |W[o][n]| of the output (per-column scaling,
//     the default) or of the whole layer (per-layer). Default per column: the programming error is
//     nearly independent of g (sigma_prog = 0.26..1.06 uS), so each column using its full [0, G_max]
//     range has the best signal-to-noise, and the per-column scale costs one digital multiply after
//     the ADC (Joshi et al. likewise map each layer's weights to the full conductance range).
//   - programming: device (layer l, pair element k, polarity s) is programmed by
//     pcm::program_device(model, target, derive_seed(programming_seed, l), 2k + s): its own stream,
//     so the programmed network is identical on any thread count. pcm::program can return
//     G_prog > G_max (the programming error is symmetric about the target); the engine clips G_prog
//     at G_max, the fully-SET limit of the device (the circuit tile and the pcm cell accept
//     conductances in [0, G_max] only). aihwkit clips at 0 only; the difference is confined to
//     devices programmed within ~2 sigma_prog (2 uS) of G_max, i.e. each column's largest weights.
//   - time: conductances at t (> 0 s after programming) drift as G_prog (t/t0)^(-nu), t0 = 20 s
//     (the model file), nu per device.
//   - 1/f read noise, two modes:
//       per-read (default): every read of the array is a new sample of the accumulated 1/f noise.
//         A read of output o sums independent Gaussian device errors G_i sigma_i eta_i V_i, so its
//         error is exactly one Gaussian of variance sum_i V_i^2 [(G+_i sigma+_i)^2 + (G-_i sigma-_i)^2]
//         (sigma = Q_s(g_prog) sqrt(ln((t + t_r)/(2 t_r))), the model's relative read noise): the
//         engine draws that one normal per (output, tile) from the stream (read_seed, key, layer,
//         position p), so results do not depend on threads. Difference from per-device draws: the
//         model's clip of a read conductance at 0 is not applied (it matters only where the
//         relative noise approaches 1, i.e. g < ~1% at a year, devices carrying ~no current). With
//         IR drop the noise term is taken through ideal wires (first order in the noise).
//       frozen: aihwkit's inference convention: one read-noise draw per device per evaluation time
//         (pcm::read_device with stream (read_seed, layer)), then fixed for all inputs.
// Inputs and outputs:
//   - inputs: per input vector (one position of one image) x is divided by its range r: the vector's
//     max |x| (aihwkit's NoiseManagement ABS_MAX; the default) or a fixed per-layer range (e.g. from a
//     calibration set; values beyond it are clipped), then applied as read-voltage amplitudes
//     v_read DAC(x / r) with a signed DAC of dac_bits (round(u L)/L, L = 2^(bits-1) - 1; default 8
//     bits, the 8-bit inputs of Joshi et al.'s hardware experiments; aihwkit's default inp_res is
//     1/(2^7 - 2)).
//   - tiles: the layer's fan_in split into consecutive blocks of rows_per_tile rows (default 256),
//     each tile holding all of the layer's outputs (2 out columns).
//   - ADC: each tile's differential output, in units of G_max v_read (u_o = sum_n (g+ - g-) DAC(x/r)),
//     is clipped to [-B, B] and rounded to 2^bits - 1 levels (step 2B/(2^bits - 2)); defaults
//     adc_bits = 9, B = 12 as aihwkit's IOParameters (out_res = 1/(2^9 - 2), out_bound = 12;
//     aihwkit src/aihwkit/simulator/parameters/io.py); per-layer B configurable. Tiles are summed
//     digitally and rescaled to weight units: y_o = s_o r sum_tiles ADC(u_tile,o) (x GDC).
//   - IR drop: none (ideal G V), exact (pcm::AnalogTile: each tile factored once per engine and
//     its exact transfer derived from one solve per row; a read is then the transfer times the
//     drive, by superposition, with no per-input solve) or aihwkit (its analytical approximation,
//     pcm::aihwkit_ir_drop_column_currents_A). Wires and v_read from the technology's [pcm] table.
// Global drift compensation (Joshi et al.; aihwkit's GlobalDriftCompensation): a calibration read
// with every row at full scale (x = 1, no DAC rounding needed) through the same tiles, IR mode and
// read noise, at t0 right after programming and again at t; its readout is the summed magnitude of
// the physical column currents, sum_c |I_c| (both devices of every pair, so differential
// cancellation cannot hide the drift; read by the calibration path without the ADC's bound). The
// output of the layer (gdc = layer) or of each tile before the digital sum (gdc = tile) is
// multiplied by readout(t0) / readout(t). aihwkit reads one-hot inputs (eye) and takes the mean
// |output|; with a uniform drift exponent nu both give exactly (t/t0)^nu.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "xbarkit/nn/matmul_engine.hpp"
#include "xbarkit/pcm/statistical_model.hpp"

namespace xbarkit::pcm {

enum class IrMode { none, exact, aihwkit };
enum class WeightScaling { column, layer };
enum class ReadNoiseMode { per_read, frozen };
enum class GdcMode { off, layer, tile };

// Parse option strings ("none"/"exact"/"aihwkit", "column"/"layer", "per-read"/"frozen",
// "off"/"layer"/"tile"); unknown values throw InputError naming `origin` and the choices.
IrMode parse_ir_mode(const std::string& s, const std::string& origin = "--ir");
WeightScaling parse_weight_scaling(const std::string& s, const std::string& origin = "--weight-scaling");
ReadNoiseMode parse_read_noise(const std::string& s, const std::string& origin = "--read-noise");
GdcMode parse_gdc(const std::string& s, const std::string& origin = "--gdc");
std::string to_string(IrMode m);
std::string to_string(WeightScaling m);
std::string to_string(ReadNoiseMode m);
std::string to_string(GdcMode m);

struct AnalogEngineOptions {
  double t_s = 25;                 // time after programming at which the network is read (> 0)
  uint64_t programming_seed = 1;   // the programming instance
  uint64_t read_seed = 1;          // read noise (per-read: with the image key)
  int rows_per_tile = 256;
  int dac_bits = 8;                // 0: no input quantization
  int adc_bits = 9;                // 0: no output quantization (nor bound)
  double adc_bound = 12;           // B in units of G_max v_read (every layer)
  std::vector<double> adc_bound_per_layer;  // if non-empty: one B per layer (overrides adc_bound)
  std::vector<double> input_ranges;         // if non-empty: one fixed input range per layer (> 0)
  WeightScaling scaling = WeightScaling::column;
  IrMode ir = IrMode::none;
  ReadNoiseMode read_noise = ReadNoiseMode::per_read;
  GdcMode gdc = GdcMode::off;
  // Exact and aihwkit IR modes: the technology ([pcm] wires, v_read, g_max) and overrides (NaN: keep).
  std::string technology = "7nm";
  double r_wire_ohm = std::numeric_limits<double>::quiet_NaN();  // both row and column wire per cell
  double wire_scale = 1;           // multiplies the technology's (or r_wire_ohm's) wires
  double v_read_V = std::numeric_limits<double>::quiet_NaN();
  unsigned threads = 0;            // for programming and factorizing the tiles (0: all cores)
  std::string origin = "pcm engine";  // names the caller's option/file in messages
};

class AnalogEngine final : public nn::MatmulEngine {
public:
  // Maps, programs and reads (at options.t_s) every layer. Throws InputError for bad options or
  // weights that cannot be mapped (empty, non-finite, shape mismatch).
  AnalogEngine(const std::vector<nn::WeightMatrix>& layers, const PcmModel& model, const AnalogEngineOptions& options);
  ~AnalogEngine() override;

  void matmul(size_t layer, const float* x, size_t P, float* y, uint64_t key) const override;

  size_t layers() const;
  int tiles(size_t layer) const;
  // The GDC factor of a layer (gdc = layer) or of its tile (gdc = tile); 1 without GDC.
  double gdc_factor(size_t layer, int tile = 0) const;
  // Exact mode: the CPU time of analysing and factoring every tile's circuit (GDC's t0 reads
  // included), and the circuit solves that derived the tiles' transfers (one per tile row). Reads
  // need no further solves.
  double factorize_s() const;
  size_t circuit_solves() const;
  const AnalogEngineOptions& options() const;
  // Tile reads (one input vector through one tile) one image needs: sum over layers of tiles x
  // positions. Without the transfer, exact mode would pay one circuit solve per read.
  size_t reads_per_image() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xbarkit::pcm
