// The libtorch trainer (see trainer.hpp). This is the only translation unit that includes libtorch.
#include "xbarkit/train/trainer.hpp"
#include "xbarkit/train/checkpoint.hpp"

#include <torch/torch.h>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <chrono>
#include <cstring>
#include <thread>
#include <cmath>
#include <iostream>
#include <numeric>
#include <sstream>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/imc/converter.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/train/sc_backward.hpp"
#include "xbarkit/train/stochastic_surrogate.hpp"

namespace xbarkit::train {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
namespace F = torch::nn::functional;

// ---------------------------------------------------------------------------------------------
// Parameters as tensors (torch layouts of nn/model.hpp).

struct Layer {
  nn::LayerSpec spec;
  torch::Tensor w;                      // latent weights, [out, in, 3, 3] or [out, fan_in]
  torch::Tensor gamma, beta;            // batch norm scale and shift
  torch::Tensor run_mean, run_var;      // running statistics (float64 buffers)
  torch::Tensor gain, offset;           // stochastic psum affine (defined for stochastic layers)
  // Recalibration accumulators (population statistics over batches).
  torch::Tensor acc_mean, acc_sq;
  int64_t acc_batches = 0;
};

torch::Tensor from_floats(const std::vector<float>& v, std::vector<int64_t> shape) {
  return torch::from_blob(const_cast<float*>(v.data()), shape, torch::kFloat32).clone();
}
std::vector<float> to_floats(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

class Model {
public:
  Model(const nn::Architecture& arch, const nn::NetworkParams& p, bool stochastic) : arch_(arch) {
    for (size_t i = 0; i < arch.layers.size(); ++i) {
      const auto& s = arch.layers[i];
      const auto& lp = p.layers.at(i);
      Layer L;
      L.spec = s;
      L.w = from_floats(lp.weight.data, nn::weight_shape(s)).set_requires_grad(true);
      L.gamma = from_floats(lp.bn_weight, {s.out}).set_requires_grad(true);
      L.beta = from_floats(lp.bn_bias, {s.out}).set_requires_grad(true);
      L.run_mean = from_floats(lp.bn_mean, {s.out}).to(torch::kFloat64);
      L.run_var = from_floats(lp.bn_var, {s.out}).to(torch::kFloat64);
      // Stochastic conversion: every binary layer but the (digital) output layer.
      if (stochastic && !s.real_input && !s.is_output) {
        L.gain = lp.psum_gain.empty() ? torch::ones({s.out}) : from_floats(lp.psum_gain, {s.out});
        L.offset = lp.psum_offset.empty() ? torch::zeros({s.out}) : from_floats(lp.psum_offset, {s.out});
        L.gain.set_requires_grad(true);
        L.offset.set_requires_grad(true);
      }
      layers_.push_back(std::move(L));
    }
  }
  std::vector<Layer>& layers() { return layers_; }
  const nn::Architecture& arch() const { return arch_; }
  // Trained for stochastic conversion: only the layers with a psum affine are on crossbars.
  bool stochastic() const {
    return std::any_of(layers_.begin(), layers_.end(), [](const Layer& L) { return L.gain.defined(); });
  }

  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> ps;
    for (const auto& L : layers_) {
      ps.insert(ps.end(), {L.w, L.gamma, L.beta});
      if (L.gain.defined()) ps.insert(ps.end(), {L.gain, L.offset});
    }
    return ps;
  }
  // Named state for checkpoints (parameters and buffers).
  std::vector<std::pair<std::string, torch::Tensor>> state() const {
    std::vector<std::pair<std::string, torch::Tensor>> st;
    for (size_t i = 0; i < layers_.size(); ++i) {
      const auto& L = layers_[i];
      const std::string p = fmt::format("layer{}.", i);
      st.insert(st.end(), {{p + "w", L.w}, {p + "gamma", L.gamma}, {p + "beta", L.beta}, {p + "run_mean", L.run_mean},
                           {p + "run_var", L.run_var}});
      if (L.gain.defined()) st.insert(st.end(), {{p + "gain", L.gain}, {p + "offset", L.offset}});
    }
    return st;
  }

  nn::NetworkParams export_params() const {
    nn::NetworkParams p;
    for (const auto& L : layers_) {
      nn::LayerParams lp;
      lp.weight = nn::Tensor{nn::weight_shape(L.spec), to_floats(L.w)};
      lp.bn_weight = to_floats(L.gamma);
      lp.bn_bias = to_floats(L.beta);
      lp.bn_mean = to_floats(L.run_mean);
      lp.bn_var = to_floats(L.run_var);
      if (L.gain.defined()) {
        lp.psum_gain = to_floats(L.gain);
        lp.psum_offset = to_floats(L.offset);
      }
      p.layers.push_back(std::move(lp));
    }
    return p;
  }

private:
  nn::Architecture arch_;
  std::vector<Layer> layers_;
};

// Forward: `value` exactly; backward: the gradient goes to `surrogate` as if it had been the output.
// (The usual surrogate + (value − surrogate).detach() is not exact in floating point, and a
// rounded ±1 or hardware output would make training and inference disagree at ties.)
struct StraightThrough : torch::autograd::Function<StraightThrough> {
  static torch::Tensor forward(torch::autograd::AutogradContext*, const torch::Tensor& surrogate,
                               const torch::Tensor& value) {
    (void)surrogate;
    return value.clone();
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list g) {
    return {g[0], torch::Tensor()};
  }
};
torch::Tensor straight_through(const torch::Tensor& surrogate, const torch::Tensor& value) {
  return StraightThrough::apply(surrogate, value.detach());
}

torch::Tensor sign_of(const torch::Tensor& x) { return torch::where(x >= 0, torch::ones_like(x), -torch::ones_like(x)); }
// sign(x) (x >= 0 -> +1) forward; the gradient of hardtanh (1 where |x| < 1) backward.
torch::Tensor sign_ste(const torch::Tensor& x) { return straight_through(torch::clamp(x, -1.0, 1.0), sign_of(x)); }
// sign of the latent weights forward, identity backward (the latent weights stay in [-1, 1]).
torch::Tensor sign_weights(const torch::Tensor& w) { return straight_through(w, sign_of(w)); }

// ---------------------------------------------------------------------------------------------
// The crossbar stage: imc::Simulator on the current weights.

class Crossbar {
public:
  Crossbar(const nn::Architecture& arch, const nn::NetworkParams& params, const HardwareInLoop& hw)
      : arch_(arch), hw_(hw) {
    net_ = std::make_unique<nn::Network>(arch_, params);
    sim_ = std::make_unique<imc::Simulator>(*net_, hw_.sim);
  }
  // After a weight update: map the new parameters (the converter and LUT stay loaded).
  void update(const nn::NetworkParams& params) {
    auto next = std::make_unique<nn::Network>(arch_, params);
    sim_->rebind(*next);
    net_ = std::move(next);
  }
  const imc::Simulator& simulator() const { return *sim_; }
  int sampling_length(size_t li) const { return sim_->converter().sampling_length(slot(li)); }
  // Training draws a chip per image (HardwareInLoop::train_chips); evaluation uses sim.chip.
  void set_training(bool on) { training_ = on; }
  int slot(size_t li) const {
    int s = 0;
    for (size_t i = 0; i < li; ++i) s += net_->layers()[i].binary();
    return s;
  }

  // z of layer li for every image of the batch: patches [B, P, N] of ±1 (int8), keys per image.
  // `tile_ps`, when given, receives the reads' ideal partial sums, int16 [B, T, O, P] (the surrogate's).
  torch::Tensor run(size_t li, const torch::Tensor& patches, const std::vector<uint64_t>& keys,
                    torch::Tensor* tile_ps = nullptr) const {
    const auto& L = net_->layers().at(li);
    const int64_t B = patches.size(0), P = patches.size(1), N = patches.size(2);
    if (N != L.fan_in) throw Error(fmt::format("trainer: layer {} patches have {} inputs, expected {}", li, N, L.fan_in));
    const auto x = patches.contiguous();
    const int64_t O = int64_t(L.out_channels);
    auto z = torch::empty({B, P, O}, torch::kFloat32);  // the integer sums, converted as .to(kFloat32) would
    const int8_t* xin = x.data_ptr<int8_t>();
    float* zout = z.data_ptr<float>();
    const int64_t T = sim_->mapping(li).tiles();
    int16_t* tp = nullptr;
    if (tile_ps) {
      *tile_ps = torch::empty({B, T, O, P}, torch::kInt16);
      tp = tile_ps->data_ptr<int16_t>();
    }
    // On libtorch's thread pool (OpenMP): a pool of our own would run beside libtorch's workers, which
    // spin between its parallel regions, so on 2 cores the two pools took turns (perf: a quarter of a
    // 2-thread StoX epoch in libgomp's spin loop). Each image draws from its own key: the same sums
    // whichever thread computes them.
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        thread_local std::vector<int32_t> zi;
        zi.resize(size_t(P) * size_t(O));
        // Variation-aware training: each image on its own chip, drawn from its key, so a batch
        // mixes chips and batch norm's batch statistics are those of the population the running
        // statistics (and every evaluated chip) see; one chip per batch would let batch norm
        // normalize each chip away during training only.
        const uint64_t chip = hw_.train_chips && training_ ? derive_seed(keys[size_t(b)], 0xC41BULL) % hw_.train_chips
                                                           : hw_.sim.chip;
        sim_->matmul_keyed(L, xin + b * P * N, size_t(P), zi.data(), keys[size_t(b)], chip, tp ? tp + b * T * O * P : nullptr);
        float* zb = zout + b * P * O;
        for (size_t i = 0; i < zi.size(); ++i) zb[i] = float(zi[i]);
      }
    });
    return z;
  }

private:
  nn::Architecture arch_;
  HardwareInLoop hw_;
  bool training_ = false;
  std::unique_ptr<nn::Network> net_;
  std::unique_ptr<imc::Simulator> sim_;
};

// ---------------------------------------------------------------------------------------------
// Forward pass.

enum class BnMode { train, eval, accumulate };

struct ForwardOut {
  torch::Tensor logits;
  // Per layer, pre-pool, [B, O, H, W] or [B, O] (when asked): the forward value and the
  // differentiable surrogate whose gradient the backward pass uses.
  std::vector<torch::Tensor> z, surrogate;
};

torch::Tensor batch_norm(Layer& L, const torch::Tensor& z, BnMode mode, double eps, double momentum) {
  const bool conv = z.dim() == 4;
  const auto shape = conv ? std::vector<int64_t>{1, -1, 1, 1} : std::vector<int64_t>{1, -1};
  const std::vector<int64_t> dims = conv ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0};
  if (mode == BnMode::eval) {
    const auto mean = L.run_mean.to(torch::kFloat32).view(shape);
    const auto inv = torch::rsqrt(L.run_var + eps).to(torch::kFloat32).view(shape);
    return (z - mean) * inv * L.gamma.view(shape) + L.beta.view(shape);
  }
  const auto mean = z.mean(dims);
  const auto var = (z - mean.view(shape)).pow(2).mean(dims);  // biased, for normalization
  if (mode == BnMode::train) {
    torch::NoGradGuard ng;
    const double m = double(z.numel() / z.size(1));
    const auto md = mean.detach().to(torch::kFloat64), vd = var.detach().to(torch::kFloat64);
    L.run_mean.mul_(1 - momentum).add_(momentum * md);
    L.run_var.mul_(1 - momentum).add_(momentum * vd * (m / std::max(1.0, m - 1)));  // unbiased
  } else {
    torch::NoGradGuard ng;
    const auto md = mean.detach().to(torch::kFloat64), vd = var.detach().to(torch::kFloat64);
    if (!L.acc_mean.defined()) {
      L.acc_mean = torch::zeros_like(md);
      L.acc_sq = torch::zeros_like(md);
    }
    L.acc_mean.add_(md);
    L.acc_sq.add_(vd + md * md);  // E[z²] of the batch
    ++L.acc_batches;
  }
  return (z - mean.view(shape)) * torch::rsqrt(var + eps).view(shape) * L.gamma.view(shape) + L.beta.view(shape);
}

struct ForwardContext {
  BnMode mode = BnMode::eval;
  double momentum = 0.1;
  const Crossbar* crossbar = nullptr;
  const std::vector<uint64_t>* keys = nullptr;  // per image, for the crossbar's draws
  bool keep_z = false;
  const ScWeightGradients* sc = nullptr;  // SC weight gradients (sc_update.hpp) in the backward pass
  // A stochastic layer's tile partial sums: from the crossbar's read loop (training), or recomputed
  // by libtorch's sliced convolutions (the independent reference of trace_gradients' tests).
  bool crossbar_tile_sums = true;
};

// Training allocates the same large tensors every batch (with the crossbar in the loop: unfolded
// patches, per-tile partial sums of the stochastic surrogate, tens of MB each). glibc's defaults
// hand such blocks back to the kernel when freed (mmap, or trimming the heap top), so every batch
// page-faults them in again (a profile of bench_train_epoch: ~25% of the CPU time in the kernel
// zeroing pages). Keep freed memory in the heap for reuse instead; once per process, for plain and
// hardware training alike (mallopt(3): M_MMAP_THRESHOLD 32 MiB, the largest glibc accepts).
void keep_freed_memory() {
#ifdef __GLIBC__
  static const bool once = [] {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)once;
#endif
}

ForwardOut forward(Model& model, const torch::Tensor& images, const ForwardContext& ctx) {
  keep_freed_memory();
  const auto& arch = model.arch();
  ForwardOut out;
  auto a = images.to(torch::kFloat32) * arch.input_scale;
  const int64_t B = images.size(0);
  const bool stochastic = model.stochastic();
  for (size_t li = 0; li < model.layers().size(); ++li) {
    Layer& L = model.layers()[li];
    const auto& s = L.spec;
    const auto wb = sign_weights(L.w);
    torch::Tensor z, patches;  // patches: [B, P, N] ±1 int8 (binary layers on a crossbar)
    const bool on_crossbar = ctx.crossbar && !s.real_input && (L.gain.defined() || !stochastic);
    const bool stochastic_layer = on_crossbar && L.gain.defined();
    const imc::LayerMapping* mapping = on_crossbar ? &ctx.crossbar->simulator().mapping(li) : nullptr;
    std::vector<int64_t> z_shape{B, s.out};
    const bool conv = s.type == nn::LayerType::Conv3x3;
    torch::Tensor x;  // a binary layer's input: padded [B, C, H+2, W+2] or flat [B, N]
    if (conv) {
      z_shape.insert(z_shape.end(), {s.conv_height, s.conv_width});
      if (s.real_input) {
        z = ctx.sc ? ctx.sc->conv(li, a, wb, 1) : F::conv2d(a, wb, F::Conv2dFuncOptions().padding(1));
      } else {
        x = F::pad(a, F::PadFuncOptions({1, 1, 1, 1}).value(-1.0));  // padding −1 (model.hpp)
        if (on_crossbar) patches = binary_patches(x);
        // A deterministic layer's surrogate is the ideal product; a stochastic layer's is the expected
        // MTJ output (below), so its ideal product would be computed for nothing.
        if (!stochastic_layer) z = ctx.sc ? ctx.sc->conv(li, x, wb, 0) : F::conv2d(x, wb);
      }
    } else {
      x = a.flatten(1);
      if (!stochastic_layer) z = ctx.sc ? ctx.sc->linear(li, x, wb) : F::linear(x, wb);
      if (on_crossbar) patches = x.detach().to(torch::kInt8).unsqueeze(1);  // [B, 1, N]
    }
    if (on_crossbar) {
      // The forward value is the crossbar's; the gradient is the ideal product's (STE), or for a
      // stochastic layer that of the expected MTJ output, whose tile partial sums the crossbar's
      // read loop hands over (it counts every tile column anyway).
      const bool handed = stochastic_layer && ctx.crossbar_tile_sums;
      torch::Tensor given;  // int16 [B, T, O, P]
      const auto hw = ctx.crossbar->run(li, patches, *ctx.keys, handed ? &given : nullptr);  // [B, P, O]
      torch::Tensor surrogate = z, value = hw;
      if (stochastic_layer) {
        const auto e = handed ? crossbar_expected_mtj_output(given, x, wb, L.gain, L.offset, *mapping, conv)
                              : expected_mtj_output(conv ? tile_partial_sums_conv(x, wb, *mapping)
                                                         : tile_partial_sums_dense(x, wb, *mapping),
                                                    L.gain, L.offset, *mapping);
        surrogate = e.view(z_shape);  // [B, O, P] -> z
        value = hw / double(ctx.crossbar->sampling_length(li));
      }
      value = conv ? value.transpose(1, 2).reshape(z_shape) : value.reshape(z_shape);
      z = straight_through(surrogate, value);
      if (ctx.keep_z) out.surrogate.push_back(surrogate);
    } else if (ctx.keep_z) {
      out.surrogate.push_back(z);
    }
    if (ctx.keep_z) out.z.push_back(z);
    if (s.pool) z = F::max_pool2d(z, F::MaxPool2dFuncOptions(2).stride(2));
    const auto y = batch_norm(L, z, ctx.mode, arch.bn_eps, ctx.momentum);
    if (s.is_output) {
      out.logits = y;
      break;
    }
    a = sign_ste(y);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data.

torch::Tensor batch_images(const nn::Dataset& d, const uint32_t* idx, int64_t n) {
  const int64_t sz = int64_t(d.image_size());
  auto t = torch::empty({n, d.channels, d.rows, d.cols}, torch::kUInt8);
  uint8_t* dst = t.data_ptr<uint8_t>();
  for (int64_t i = 0; i < n; ++i) std::memcpy(dst + i * sz, d.image(idx[i]).data(), size_t(sz));
  return t;
}

torch::Tensor batch_labels(const nn::Dataset& d, const uint32_t* idx, int64_t n) {
  auto t = torch::empty({n}, torch::kInt64);
  int64_t* dst = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) dst[i] = int64_t(d.labels[idx[i]]);
  return t;
}

void check_data(const nn::Architecture& arch, const nn::Dataset& data) {
  if (data.channels != arch.in_channels || data.rows != arch.in_height || data.cols != arch.in_width)
    throw Error(fmt::format("{}: the architecture expects {}×{}×{} images, {} has {}×{}×{}", arch.name, arch.in_channels,
                            arch.in_height, arch.in_width, data.name, data.channels, data.rows, data.cols));
  for (size_t i = 0; i < data.count; ++i)
    if (data.labels[i] >= arch.classes)
      throw Error(fmt::format("{}: label {} of item {} is not below classes = {}", data.name, int(data.labels[i]), i,
                              arch.classes));
}

// Recalibration: population statistics of the final weights over `batches` of the data, layer by
// layer through the accumulating batch norm (no weight updates).
void recalibrate(Model& model, const nn::Dataset& data, const std::vector<uint32_t>& order, int batch, size_t batches,
                 const Crossbar* crossbar, uint64_t key_base) {
  torch::NoGradGuard ng;
  for (auto& L : model.layers()) {
    L.acc_mean = torch::Tensor();
    L.acc_sq = torch::Tensor();
    L.acc_batches = 0;
  }
  std::vector<uint64_t> keys(static_cast<size_t>(batch));
  for (size_t bi = 0; bi < batches; ++bi) {
    for (int b = 0; b < batch; ++b) keys[size_t(b)] = derive_seed(key_base, bi * size_t(batch) + size_t(b));
    ForwardContext ctx;
    ctx.mode = BnMode::accumulate;
    ctx.crossbar = crossbar;
    ctx.keys = &keys;
    forward(model, batch_images(data, order.data() + bi * size_t(batch), batch), ctx);
  }
  for (auto& L : model.layers()) {
    if (!L.acc_batches) continue;
    const auto mean = L.acc_mean / double(L.acc_batches);
    L.run_mean.copy_(mean);
    L.run_var.copy_(torch::clamp_min(L.acc_sq / double(L.acc_batches) - mean * mean, 0.0));
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: a torch archive with the fingerprint, progress, generator, shuffle order, the model
// state and the optimizer state, written atomically.

std::string fingerprint(const nn::Architecture& arch, const TrainOptions& opt, const nn::Dataset& train) {
  const auto& cfg = opt.config;
  std::string f = fmt::format("{}|{}x{}x{}|{}|", arch.name, arch.in_channels, arch.in_height, arch.in_width, arch.classes);
  for (const auto& l : arch.layers) f += fmt::format("{}:{}:{};", nn::layer_type_name(l.type), l.out, l.pool);
  f += fmt::format("|epochs {} seed {} batch {} lr {:.17g} {:.17g} recal {}|{} {} images|threads {}", cfg.epochs,
                   cfg.seed, cfg.batch, cfg.lr, cfg.lr_final, cfg.recalibrate_bn, train.name, train.count,
                   opt.threads);
  if (opt.hardware)
    f += fmt::format("|hw {} stochastic {} chips {}", imc::describe(opt.hardware->sim), opt.hardware->stochastic_psum,
                     opt.hardware->train_chips);
  if (opt.sc_update) f += "|sc " + describe(*opt.sc_update);
  if (opt.init) f += "|init " + sha256_hex(nn::serialize_safetensors(nn::params_to_tensors(arch, *opt.init)));
  std::string sample(reinterpret_cast<const char*>(train.labels.data()), train.labels.size());
  for (size_t i = 0; i < train.count; i += std::max<size_t>(1, train.count / 64))
    sample.append(reinterpret_cast<const char*>(train.image(i).data()), train.image(i).size());
  return f + "|" + sha256_hex(sample);
}

void save_checkpoint(const std::filesystem::path& path, const std::string& fp, int epoch, int64_t step, const Rng& rng,
                     const std::vector<uint32_t>& order, const Model& model, torch::optim::Adam& adam) {
  torch::serialize::OutputArchive ar;
  checkpoint::write_progress(ar, fp, epoch, step, order);
  ar.write("rng", c10::IValue(checkpoint::rng_string(rng)));
  for (const auto& [name, t] : model.state()) ar.write("model." + name, t.detach(), /*is_buffer=*/true);
  torch::serialize::OutputArchive opt_ar;
  adam.save(opt_ar);
  ar.write("optimizer", opt_ar);
  std::ostringstream os;
  ar.save_to(os);
  write_file_atomic(path, os.str());
}

int load_checkpoint(const std::filesystem::path& path, const std::string& fp, int64_t& step, Rng& rng,
                    std::vector<uint32_t>& order, Model& model, torch::optim::Adam& adam) {
  const std::string file = path.string();
  auto ar = checkpoint::open(path);
  try {
    const int epoch = checkpoint::read_progress(
        ar, file, fp, "architecture, training configuration, hardware, thread count or training set", step, order);
    c10::IValue v;
    ar.read("rng", v);
    checkpoint::rng_from_string(rng, v.toStringRef(), file, "rng");
    torch::NoGradGuard ng;
    for (auto& [name, t] : model.state()) {
      torch::Tensor saved;
      ar.read("model." + name, saved, true);
      if (saved.sizes() != t.sizes()) throw InputError(file, "model." + name, "does not match the network");
      t.copy_(saved);
    }
    torch::serialize::InputArchive opt_ar;
    ar.read("optimizer", opt_ar);
    adam.load(opt_ar);
    return epoch;
  } catch (const c10::Error& e) {
    throw InputError(file, "", fmt::format("damaged or incompatible checkpoint ({})", e.what_without_backtrace()));
  }
}

unsigned torch_threads(unsigned threads) {
  const unsigned n = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(int(n));
  return n;
}

void check_hardware(const nn::Architecture& arch, const HardwareInLoop& hw) {
  if (hw.stochastic_psum) {
    if (hw.sim.mapping != imc::Mapping::Xnor)
      throw InputError("", "--mapping", "stochastic partial-sum training is defined for the XNOR mapping only");
    if (hw.sim.binsparx.static_flip || hw.sim.binsparx.dynamic_flip)
      throw InputError("", "--binsparx", "stochastic partial-sum training does not model BinSparX flips; use none");
    bool hidden_binary = false;
    for (const auto& l : arch.layers) hidden_binary |= !l.real_input && !l.is_output;
    if (!hidden_binary)
      throw InputError(arch.file.string(), "layer",
                       "stochastic partial-sum training needs a hidden binary layer (the output layer stays digital)");
  }
}

}  // namespace

nn::NetworkParams initial_params(const nn::Architecture& arch, uint64_t seed) {
  nn::NetworkParams p;
  for (size_t li = 0; li < arch.layers.size(); ++li) {
    const auto& s = arch.layers[li];
    nn::LayerParams lp;
    lp.weight.shape = nn::weight_shape(s);
    lp.weight.data.resize(size_t(s.out) * size_t(s.fan_in));
    Rng rng(seed, 1000 + li);
    const double limit = std::sqrt(6.0 / double(s.fan_in + s.out));  // Glorot uniform
    for (auto& v : lp.weight.data) v = float((2.0 * rng.uniform() - 1.0) * limit);
    lp.bn_weight.assign(size_t(s.out), 1.0f);
    lp.bn_bias.assign(size_t(s.out), 0.0f);
    lp.bn_mean.assign(size_t(s.out), 0.0f);
    lp.bn_var.assign(size_t(s.out), 1.0f);
    p.layers.push_back(std::move(lp));
  }
  return p;
}

void calibrate_batch_norm(const nn::Architecture& arch, nn::NetworkParams& params, const nn::Dataset& data, size_t n,
                          unsigned threads) {
  check_data(arch, data);
  torch_threads(threads);
  if (n == 0 || n > data.count) n = data.count;
  Model model(arch, params, false);
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  // One batch of everything: exact population statistics (batch norm sees all n images at once).
  recalibrate(model, data, order, int(n), 1, nullptr, 0);
  const auto md = params.metadata;
  params = model.export_params();
  params.metadata = md;
}

ForwardTrace trace_forward(const nn::Architecture& arch, const nn::NetworkParams& params, const nn::Dataset& data,
                           size_t first, size_t count, const HardwareInLoop* hardware, unsigned threads) {
  check_data(arch, data);
  if (first + count > data.count) throw Error("trace_forward: image range beyond the dataset");
  torch_threads(threads);
  const bool stochastic = hardware && hardware->stochastic_psum;
  Model model(arch, params, stochastic);
  std::unique_ptr<Crossbar> xbar;
  if (hardware) xbar = std::make_unique<Crossbar>(arch, model.export_params(), *hardware);
  std::vector<uint32_t> idx(count);
  std::iota(idx.begin(), idx.end(), uint32_t(first));
  std::vector<uint64_t> keys(idx.begin(), idx.end());  // Simulator::predict_all keys image i by i
  torch::NoGradGuard ng;
  ForwardContext ctx;
  ctx.mode = BnMode::eval;
  ctx.crossbar = xbar.get();
  ctx.keys = &keys;
  ctx.keep_z = true;
  const auto out = forward(model, batch_images(data, idx.data(), int64_t(count)), ctx);
  ForwardTrace tr;
  // [B, O, H, W] -> [B, P, O]; dense [B, O] -> [B, 1, O].
  auto rows = [](const torch::Tensor& z) { return to_floats(z.dim() == 4 ? z.flatten(2).transpose(1, 2) : z.unsqueeze(1)); };
  for (const auto& z : out.z) tr.z.push_back(rows(z));
  for (const auto& z : out.surrogate) tr.surrogate.push_back(rows(z));
  tr.logits = to_floats(out.logits);
  return tr;
}

TrainResult train_network(const nn::Architecture& arch, const nn::Dataset& train, const nn::Dataset* test,
                          const TrainOptions& opt) {
  const auto& cfg = opt.config;
  check_data(arch, train);
  if (test) check_data(arch, *test);
  if (train.count < size_t(cfg.batch))
    throw Error(fmt::format("training set has fewer images than one batch ({})", cfg.batch));
  if (opt.hardware) check_hardware(arch, *opt.hardware);
  if (opt.hardware && opt.sc_update)
    throw InputError("", "--sc-update", "SC weight updates are not implemented with the crossbar in the loop (--hardware)");
  const unsigned threads = torch_threads(opt.threads);
  const auto t_start = Clock::now();
  const bool stochastic = opt.hardware && opt.hardware->stochastic_psum;
  Model model(arch, opt.init ? *opt.init : initial_params(arch, cfg.seed), stochastic);
  std::unique_ptr<Crossbar> xbar;
  if (opt.hardware) {
    xbar = std::make_unique<Crossbar>(arch, model.export_params(), *opt.hardware);
    xbar->set_training(true);  // also for the final recalibration: statistics over the chip population
  }
  torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(cfg.lr));
  Rng rng(cfg.seed, 1);
  std::vector<uint32_t> order(train.count);
  std::iota(order.begin(), order.end(), 0u);
  const int B = cfg.batch;
  const size_t batches = train.count / size_t(B);  // the remainder of each shuffled epoch is skipped
  const int64_t total_steps = int64_t(batches) * cfg.epochs;
  int64_t t = 0;
  int first_epoch = 1;
  const std::string fp = opt.checkpoint.empty() ? std::string() : fingerprint(arch, opt, train);
  if (opt.resume) {
    if (opt.checkpoint.empty() || !std::filesystem::exists(opt.checkpoint))
      throw InputError(opt.checkpoint.string(), "--resume", "no checkpoint to resume from");
    first_epoch = load_checkpoint(opt.checkpoint, fp, t, rng, order, model, adam) + 1;
    if (opt.log) *opt.log << fmt::format("resuming after epoch {} from {}\n", first_epoch - 1, opt.checkpoint.string());
  }
  if (opt.log) {
    *opt.log << fmt::format("training {}: {} images, {} epochs, batch {}, Adam lr {:g} -> {:g} (cosine), seed {}, "
                            "libtorch {} threads",
                            arch.name, train.count, cfg.epochs, B, cfg.lr, cfg.lr_final, cfg.seed, threads);
    if (opt.hardware)
      *opt.log << fmt::format("\n  crossbar in the loop: {}{}{}", imc::describe(opt.hardware->sim),
                              stochastic ? ", stochastic partial sums (psum affine learned, output layer digital)" : "",
                              opt.hardware->train_chips ? fmt::format(", each image on a chip drawn from {}", opt.hardware->train_chips)
                                                        : std::string());
    if (opt.sc_update) *opt.log << "\n  weight gradients by stochastic computing: " << describe(*opt.sc_update);
    *opt.log << "\n" << std::flush;
  }
  std::unique_ptr<ScWeightGradients> sc;
  if (opt.sc_update) sc = std::make_unique<ScWeightGradients>(arch, *opt.sc_update, cfg.seed, threads);
  TrainResult result;
  std::vector<uint64_t> keys(static_cast<size_t>(B));
  for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
    const auto t0 = Clock::now();
    xbarkit::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int64_t correct = 0;
    double lr = cfg.lr;
    ProgressReporter progress(fmt::format("epoch {}/{}", epoch, cfg.epochs), "batches", batches, opt.progress);
    for (size_t bi = 0; bi < batches; ++bi) {
      throw_if_stopped("training (rerun with --resume to continue after the last finished epoch)");
      const uint32_t* idx = order.data() + bi * size_t(B);
      ForwardContext ctx;
      ctx.mode = BnMode::train;
      if (sc) sc->set_step(uint64_t(t));
      ctx.sc = sc.get();
      if (xbar) {
        xbar->update(model.export_params());
        for (int b = 0; b < B; ++b) keys[size_t(b)] = derive_seed(uint64_t(t) + 1, uint64_t(b));
        ctx.crossbar = xbar.get();
        ctx.keys = &keys;
      }
      const auto out = forward(model, batch_images(train, idx, B), ctx);
      const auto labels = batch_labels(train, idx, B);
      const auto loss = F::cross_entropy(out.logits, labels);
      adam.zero_grad();
      loss.backward();
      const double schedule = total_steps > 0 ? double(t) / double(total_steps) : 0.0;
      lr = cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1.0 + std::cos(M_PI * schedule));
      for (auto& g : adam.param_groups()) static_cast<torch::optim::AdamOptions&>(g.options()).lr(lr);
      adam.step();
      ++t;
      {
        torch::NoGradGuard ng;
        for (auto& L : model.layers()) L.w.clamp_(-1.0, 1.0);
      }
      loss_sum += loss.item<double>();
      correct += out.logits.argmax(1).eq(labels).sum().item<int64_t>();
      if (progress.enabled())
        progress.set_detail(fmt::format("loss {:.4f}, train {:.2f}%", loss_sum / double(bi + 1),
                                        100.0 * double(correct) / double((bi + 1) * size_t(B))));
      progress.advance();
    }
    progress.finish();
    EpochReport r;
    r.epoch = epoch;
    r.epochs = cfg.epochs;
    r.loss = loss_sum / double(batches);
    r.train_accuracy = double(correct) / double(batches * size_t(B));
    r.lr = lr;
    r.seconds = since(t0);  // training time of the epoch (evaluation excluded)
    if (test) {
      const nn::Network eval(arch, model.export_params());
      r.test_accuracy = opt.hardware ? imc::evaluate(eval, *test, opt.hardware->sim, opt.test_images, threads).accuracy
                                     : nn::Network::accuracy(eval.predict_all(*test, opt.test_images, threads), *test);
    }
    if (opt.log) {
      *opt.log << fmt::format("epoch {:3d}/{}  loss {:.4f}  train {:6.2f}%", epoch, cfg.epochs, r.loss, 100 * r.train_accuracy);
      if (r.test_accuracy >= 0) *opt.log << fmt::format("  test {:6.2f}%", 100 * r.test_accuracy);
      *opt.log << fmt::format("  lr {:.2e}  {:.1f} s\n", lr, r.seconds) << std::flush;
    }
    if (!opt.checkpoint.empty()) save_checkpoint(opt.checkpoint, fp, epoch, t, rng, order, model, adam);
    if (opt.on_epoch) opt.on_epoch(r);
    result.epochs.push_back(r);
  }
  if (cfg.recalibrate_bn && cfg.epochs > 0) {
    // Batch statistics of the final weights over one pass of the training set (no updates), replacing
    // the running averages collected while the weights were still moving.
    const auto t0 = Clock::now();
    if (xbar) xbar->update(model.export_params());
    recalibrate(model, train, order, B, batches, xbar.get(), derive_seed(cfg.seed, 0x7265636131ULL));
    if (opt.log) *opt.log << fmt::format("batch-norm statistics recalibrated over the training set ({:.1f} s)\n", since(t0));
  }
  result.params = model.export_params();
  if (test) {
    const nn::Network eval(arch, result.params);
    result.test_accuracy = opt.hardware ? imc::evaluate(eval, *test, opt.hardware->sim, opt.test_images, threads).accuracy
                                        : nn::Network::accuracy(eval.predict_all(*test, opt.test_images, threads), *test);
    if (opt.log)
      *opt.log << fmt::format("final test accuracy ({}): {:.2f}%\n", opt.hardware ? "crossbar" : "bit-packed path",
                              100 * result.test_accuracy);
  }
  result.seconds = since(t_start);
  return result;
}

GradientTrace trace_gradients(const nn::Architecture& arch, const nn::NetworkParams& params, const nn::Dataset& data,
                              size_t first, size_t count, const ScUpdateConfig* sc_config, uint64_t seed, uint64_t step,
                              unsigned threads, const HardwareInLoop* hardware, bool crossbar_tile_sums) {
  check_data(arch, data);
  if (count == 0 || first + count > data.count) throw Error("trace_gradients: image range beyond the dataset");
  if (hardware && sc_config) throw Error("trace_gradients: SC weight updates with the crossbar in the loop");
  torch_threads(threads);
  Model model(arch, params, hardware && hardware->stochastic_psum);
  std::unique_ptr<Crossbar> xbar;
  if (hardware) {
    xbar = std::make_unique<Crossbar>(arch, model.export_params(), *hardware);
    xbar->set_training(true);
  }
  std::unique_ptr<ScWeightGradients> sc;
  if (sc_config) {
    sc = std::make_unique<ScWeightGradients>(arch, *sc_config, seed, threads);
    sc->set_step(step);
    sc->record_expectation = true;
  }
  std::vector<uint32_t> idx(count);
  std::iota(idx.begin(), idx.end(), uint32_t(first));
  const std::vector<uint64_t> keys(idx.begin(), idx.end());
  ForwardContext ctx;
  ctx.mode = BnMode::train;
  ctx.sc = sc.get();
  ctx.crossbar = xbar.get();
  ctx.keys = &keys;
  ctx.crossbar_tile_sums = crossbar_tile_sums;
  const auto out = forward(model, batch_images(data, idx.data(), int64_t(count)), ctx);
  F::cross_entropy(out.logits, batch_labels(data, idx.data(), int64_t(count))).backward();
  GradientTrace tr;
  for (const auto& L : model.layers()) tr.weight_grad.push_back(to_floats(L.w.grad()));
  for (const auto& L : model.layers())
    if (L.gain.defined()) {
      tr.psum_grad.push_back(to_floats(L.gain.grad()));
      tr.psum_grad.push_back(to_floats(L.offset.grad()));
    }
  if (sc) {
    tr.sc_mean = sc->expected_mean;
    tr.sc_stddev = sc->expected_stddev;
  }
  return tr;
}

}  // namespace xbarkit::train
