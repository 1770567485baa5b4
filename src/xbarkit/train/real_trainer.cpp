// The libtorch trainer of real-valued networks (see real_trainer.hpp).
#include "xbarkit/train/real_trainer.hpp"
#include "xbarkit/train/checkpoint.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <numeric>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/core/stop.hpp"

namespace xbarkit::train {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
namespace F = torch::nn::functional;

torch::Tensor from_tensor(const nn::Tensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat32).clone();
}
nn::Tensor to_tensor(const torch::Tensor& t) {
  nn::Tensor r;
  const auto c = t.detach().to(torch::kFloat32).contiguous();
  r.shape.assign(c.sizes().begin(), c.sizes().end());
  r.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return r;
}

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// The network's tensors by their safetensors names; running statistics are buffers, the rest trainable.
class RealModel {
public:
  RealModel(const nn::RealArchitecture& arch, const nn::RealParams& p) : arch_(arch), units_(nn::weight_units(arch)) {
    for (const auto& [name, shape] : nn::real_tensor_shapes(arch)) {
      auto t = from_tensor(p.at(name));
      const bool buffer = ends_with(name, ".running_mean") || ends_with(name, ".running_var");
      if (!buffer) t.set_requires_grad(true);
      names_.push_back(name);
      t_[name] = t;
    }
  }
  torch::Tensor& operator[](const std::string& n) { return t_.at(n); }
  const std::vector<nn::WeightUnit>& units() const { return units_; }
  const nn::RealArchitecture& arch() const { return arch_; }
  // Trainable tensors with weight decay (conv/dense weights) and without (the rest).
  std::vector<torch::Tensor> decayed() const {
    std::vector<torch::Tensor> v;
    for (const auto& u : units_) v.push_back(t_.at(u.name + ".weight"));
    return v;
  }
  std::vector<torch::Tensor> not_decayed() const {
    // Everything trainable but the units' weights (BN scale/shift, biases, activation clips).
    std::vector<torch::Tensor> r;
    for (const auto& n : names_) {
      if (!t_.at(n).requires_grad()) continue;
      bool is_unit_weight = false;
      for (const auto& u : units_)
        if (n == u.name + ".weight") is_unit_weight = true;
      if (!is_unit_weight) r.push_back(t_.at(n));
    }
    return r;
  }
  const std::vector<std::string>& names() const { return names_; }
  nn::RealParams export_params() const {
    nn::RealParams p;
    for (const auto& n : names_) p.tensors[n] = to_tensor(t_.at(n));
    return p;
  }

private:
  nn::RealArchitecture arch_;
  std::vector<nn::WeightUnit> units_;
  std::vector<std::string> names_;
  std::map<std::string, torch::Tensor> t_;
};

enum class BnMode { eval, train, cumulative };

struct ForwardContext {
  BnMode mode = BnMode::eval;
  double bn_momentum = 0.1;  // train: torch's default; cumulative: 1/(k+1) for batch k
  const std::vector<torch::Tensor>* noise = nullptr;  // per unit: additive weight noise (training)
};

// Straight-through rounding: forward round(v), backward identity.
torch::Tensor ste_round(const torch::Tensor& v) { return v + (torch::round(v) - v).detach(); }

torch::Tensor effective_weight(RealModel& m, size_t ui, const ForwardContext& ctx) {
  const auto& u = m.units()[ui];
  torch::Tensor w = m[u.name + ".weight"];
  const int bits = m.arch().weight_bits;
  if (bits > 0) {
    const auto s = (w.detach().abs().max() / double((1 << (bits - 1)) - 1)).clamp_min(1e-30);
    w = ste_round(w / s) * s;
  }
  if (ctx.noise) w = w + (*ctx.noise)[ui];
  return w;
}

torch::Tensor quantize_input(RealModel& m, const nn::WeightUnit& u, const torch::Tensor& x) {
  const int bits = m.arch().activation_bits;
  if (bits <= 0) return x;
  const double L = double((1 << bits) - 1);
  if (u.image_input) {
    const double a = 255.0 * m.arch().input_scale;
    return torch::round(x.clamp(0.0, a) * (L / a)) * (a / L);
  }
  // PACT: y = clamp(x, 0, α) written as relu(x) − relu(x − α) so that α receives its gradient.
  const auto& alpha = m[u.name + ".input_clip"];
  const auto y = F::relu(x) - F::relu(x - alpha);
  return ste_round(y * L / alpha) * alpha / L;
}

torch::Tensor apply_unit(RealModel& m, size_t ui, const torch::Tensor& x_in, const ForwardContext& ctx) {
  const auto& u = m.units()[ui];
  const auto x = quantize_input(m, u, x_in);
  const auto w = effective_weight(m, ui, ctx);
  torch::Tensor b = u.bias ? m[u.name + ".bias"] : torch::Tensor();
  torch::Tensor y;
  if (u.dense) {
    y = F::linear(x.flatten(1), w, b);
  } else {
    y = F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).stride(u.stride).padding(u.padding));
  }
  if (!u.bn.empty()) {
    const bool training = ctx.mode != BnMode::eval;
    y = F::batch_norm(y, m[u.bn + ".running_mean"], m[u.bn + ".running_var"],
                      F::BatchNormFuncOptions()
                          .weight(m[u.bn + ".weight"])
                          .bias(m[u.bn + ".bias"])
                          .training(training)
                          .momentum(ctx.bn_momentum)
                          .eps(m.arch().bn_eps));
  }
  return y;
}

torch::Tensor forward(RealModel& m, torch::Tensor x, const ForwardContext& ctx) {
  const auto& arch = m.arch();
  size_t ui = 0;
  for (const auto& l : arch.layers) {
    switch (l.type) {
      case nn::RealLayerType::Conv:
      case nn::RealLayerType::Dense:
        x = apply_unit(m, ui++, x, ctx);
        if (l.relu) x = F::relu(x);
        break;
      case nn::RealLayerType::Residual: {
        auto y = F::relu(apply_unit(m, ui++, x, ctx));
        y = apply_unit(m, ui++, y, ctx);
        const auto s = l.projection ? apply_unit(m, ui++, x, ctx) : x;
        x = F::relu(y + s);
        break;
      }
      case nn::RealLayerType::AvgPool: x = x.mean({2, 3}); break;
    }
  }
  return x;
}

// A batch of images as floats pixel·input_scale, [n, C, H, W]; with augmentation each image is shifted
// by (dy, dx) uniform in [−shift, shift] (zero fill) and mirrored with probability 1/2, drawn from rng.
torch::Tensor batch_images(const nn::Dataset& d, const uint32_t* idx, int64_t n, double scale, int shift, bool flip,
                           Rng* rng) {
  const int C = d.channels, H = d.rows, W = d.cols;
  auto t = torch::zeros({n, C, H, W}, torch::kFloat32);
  float* out = t.data_ptr<float>();
  for (int64_t b = 0; b < n; ++b) {
    const uint8_t* img = d.image(idx[b]).data();
    int dy = 0, dx = 0;
    bool mirror = false;
    if (rng && shift > 0) {
      dy = int(rng->below(uint64_t(2 * shift + 1))) - shift;
      dx = int(rng->below(uint64_t(2 * shift + 1))) - shift;
    }
    if (rng && flip) mirror = rng->bernoulli(0.5);
    float* o = out + b * C * H * W;
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < H; ++y) {
        const int sy = y - dy;
        if (sy < 0 || sy >= H) continue;
        for (int x = 0; x < W; ++x) {
          int sx = x - dx;
          if (sx < 0 || sx >= W) continue;
          if (mirror) sx = W - 1 - sx;
          o[(c * H + y) * W + x] = float(double(img[(c * H + sy) * W + sx]) * scale);
        }
      }
  }
  return t;
}

torch::Tensor batch_labels(const nn::Dataset& d, const uint32_t* idx, int64_t n) {
  auto t = torch::empty({n}, torch::kInt64);
  for (int64_t b = 0; b < n; ++b) t[b] = int64_t(d.labels[idx[b]]);
  return t;
}

void check_data(const nn::RealArchitecture& arch, const nn::Dataset& d) {
  if (d.channels != arch.in_channels || d.rows != arch.in_height || d.cols != arch.in_width)
    throw InputError(d.name, "", fmt::format("images are {}×{}×{} but the network {} expects input [{}, {}, {}]", d.channels,
                                             d.rows, d.cols, arch.name, arch.in_channels, arch.in_height, arch.in_width));
  for (size_t i = 0; i < d.count; ++i)
    if (d.labels[i] >= arch.classes)
      throw InputError(d.name, "", fmt::format("label {} of image {} is not below classes = {}", int(d.labels[i]), i, arch.classes));
}

unsigned torch_threads(unsigned threads) {
  const unsigned n = threads ? threads : std::max(1u, std::thread::hardware_concurrency());
  torch::set_num_threads(int(n));
  return n;
}

double evaluate(RealModel& m, const nn::Dataset& d, size_t n, int B) {
  torch::NoGradGuard ng;
  n = n == 0 ? d.count : std::min(n, d.count);
  std::vector<uint32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0u);
  int64_t correct = 0;
  ForwardContext ctx;
  for (size_t b = 0; b < n; b += size_t(B)) {
    const int64_t k = int64_t(std::min(size_t(B), n - b));
    const auto logits = forward(m, batch_images(d, idx.data() + b, k, m.arch().input_scale, 0, false, nullptr), ctx);
    correct += logits.argmax(1).eq(batch_labels(d, idx.data() + b, k)).sum().item<int64_t>();
  }
  return double(correct) / double(n);
}

std::string fingerprint(const nn::RealArchitecture& arch, const RealTrainOptions& opt, const nn::Dataset& train) {
  const auto& c = opt.config;
  std::string f = fmt::format("{}|{}x{}x{}|{}|wb {} ab {}|", arch.name, arch.in_channels, arch.in_height, arch.in_width,
                              arch.classes, arch.weight_bits, arch.activation_bits);
  for (const auto& [n, s] : nn::real_tensor_shapes(arch)) f += n + nn::shape_string(s) + ";";
  f += fmt::format("|epochs {} seed {} batch {} {} lr {:.17g} {:.17g} m {:.17g} wd {:.17g} aug {} {} noise {:.17g} recal {}|{} {} images|threads {}",
                   c.epochs, c.seed, c.batch, c.optimizer, c.lr, c.lr_final, c.momentum, c.weight_decay, c.augment_shift,
                   c.augment_flip, c.weight_noise, c.recalibrate_bn, train.name, train.count, opt.threads);
  if (opt.init) {
    std::string bytes;
    for (const auto& [n, t] : opt.init->tensors) bytes.append(reinterpret_cast<const char*>(t.data.data()), t.data.size() * 4);
    f += "|init " + sha256_hex(bytes);
  }
  std::string sample(reinterpret_cast<const char*>(train.labels.data()), train.labels.size());
  for (size_t i = 0; i < train.count; i += std::max<size_t>(1, train.count / 64))
    sample.append(reinterpret_cast<const char*>(train.image(i).data()), train.image(i).size());
  return f + "|" + sha256_hex(sample);
}

void save_checkpoint(const std::filesystem::path& path, const std::string& fp, int epoch, int64_t step, const Rng& rng,
                     const Rng& aug, const std::vector<uint32_t>& order, const RealModel& model,
                     torch::optim::Optimizer& optim) {
  torch::serialize::OutputArchive ar;
  checkpoint::write_progress(ar, fp, epoch, step, order);
  ar.write("rng", c10::IValue(checkpoint::rng_string(rng)));
  ar.write("rng_aug", c10::IValue(checkpoint::rng_string(aug)));
  auto& m = const_cast<RealModel&>(model);
  for (const auto& n : model.names()) ar.write("model." + n, m[n].detach(), /*is_buffer=*/true);
  torch::serialize::OutputArchive opt_ar;
  optim.save(opt_ar);
  ar.write("optimizer", opt_ar);
  std::ostringstream os;
  ar.save_to(os);
  write_file_atomic(path, os.str());
}

int load_checkpoint(const std::filesystem::path& path, const std::string& fp, int64_t& step, Rng& rng, Rng& aug,
                    std::vector<uint32_t>& order, RealModel& model, torch::optim::Optimizer& optim) {
  const std::string file = path.string();
  auto ar = checkpoint::open(path);
  try {
    const int epoch = checkpoint::read_progress(
        ar, file, fp, "architecture, training configuration, thread count or training set", step, order);
    c10::IValue v;
    ar.read("rng", v);
    checkpoint::rng_from_string(rng, v.toStringRef(), file, "rng");
    ar.read("rng_aug", v);
    checkpoint::rng_from_string(aug, v.toStringRef(), file, "rng_aug");
    torch::NoGradGuard ng;
    for (const auto& n : model.names()) {
      torch::Tensor saved;
      ar.read("model." + n, saved, true);
      if (saved.sizes() != model[n].sizes()) throw InputError(file, "model." + n, "does not match the network");
      model[n].copy_(saved);
    }
    torch::serialize::InputArchive opt_ar;
    ar.read("optimizer", opt_ar);
    optim.load(opt_ar);
    return epoch;
  } catch (const c10::Error& e) {
    throw InputError(file, "", fmt::format("damaged or incompatible checkpoint ({})", e.what_without_backtrace()));
  }
}

}  // namespace

nn::RealParams initial_real_params(const nn::RealArchitecture& arch, uint64_t seed) {
  nn::RealParams p;
  const auto units = nn::weight_units(arch);
  for (size_t ui = 0; ui < units.size(); ++ui) {
    const auto& u = units[ui];
    Rng rng(seed, 2000 + ui);
    nn::Tensor w;
    w.shape = u.weight_shape();
    w.data.resize(w.numel());
    const double fan_in = double(u.fan_in());
    for (auto& v : w.data)
      v = u.dense ? float((2 * rng.uniform() - 1) / std::sqrt(fan_in)) : float(rng.normal() * std::sqrt(2.0 / fan_in));
    p.tensors[u.name + ".weight"] = w;
    auto vec = [&](float value) {
      nn::Tensor t;
      t.shape = {u.out_c};
      t.data.assign(size_t(u.out_c), value);
      return t;
    };
    if (u.bias) p.tensors[u.name + ".bias"] = vec(0.f);
    if (!u.bn.empty()) {
      p.tensors[u.bn + ".weight"] = vec(1.f);
      p.tensors[u.bn + ".bias"] = vec(0.f);
      p.tensors[u.bn + ".running_mean"] = vec(0.f);
      p.tensors[u.bn + ".running_var"] = vec(1.f);
    }
    if (arch.activation_bits > 0 && !u.image_input) p.tensors[u.name + ".input_clip"] = nn::Tensor{{1}, {6.f}};
  }
  return p;
}

std::vector<float> real_torch_logits(const nn::RealArchitecture& arch, const nn::RealParams& params,
                                     const nn::Dataset& data, size_t first, size_t count, unsigned threads) {
  check_data(arch, data);
  if (count == 0 || first + count > data.count) throw Error("real_torch_logits: image range beyond the dataset");
  torch_threads(threads);
  RealModel m(arch, params);
  torch::NoGradGuard ng;
  std::vector<uint32_t> idx(count);
  std::iota(idx.begin(), idx.end(), uint32_t(first));
  const auto logits = forward(m, batch_images(data, idx.data(), int64_t(count), arch.input_scale, 0, false, nullptr), {});
  return to_tensor(logits).data;
}

RealTrainResult train_real_network(const nn::RealArchitecture& arch, const nn::Dataset& train, const nn::Dataset* test,
                                   const RealTrainOptions& opt) {
  const auto& cfg = opt.config;
  check_data(arch, train);
  if (test) check_data(arch, *test);
  if (train.count < size_t(cfg.batch))
    throw InputError(train.name, "", fmt::format("{} training images are fewer than one batch of {}", train.count, cfg.batch));
  const unsigned threads = torch_threads(opt.threads);
  const auto t_start = Clock::now();
  RealModel model(arch, opt.init ? *opt.init : initial_real_params(arch, cfg.seed));
  std::unique_ptr<torch::optim::Optimizer> optim;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  if (cfg.optimizer == "adam") {
    groups.emplace_back(model.decayed(), std::make_unique<torch::optim::AdamOptions>(
                                             torch::optim::AdamOptions(cfg.lr).weight_decay(cfg.weight_decay)));
    groups.emplace_back(model.not_decayed(), std::make_unique<torch::optim::AdamOptions>(cfg.lr));
    optim = std::make_unique<torch::optim::Adam>(groups, torch::optim::AdamOptions(cfg.lr));
  } else {
    auto o = torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).nesterov(cfg.momentum > 0);
    groups.emplace_back(model.decayed(), std::make_unique<torch::optim::SGDOptions>(o.weight_decay(cfg.weight_decay)));
    groups.emplace_back(model.not_decayed(), std::make_unique<torch::optim::SGDOptions>(
                                                 torch::optim::SGDOptions(cfg.lr).momentum(cfg.momentum).nesterov(cfg.momentum > 0)));
    optim = std::make_unique<torch::optim::SGD>(groups, torch::optim::SGDOptions(cfg.lr));
  }
  Rng rng(cfg.seed, 1);       // shuffling
  Rng aug(cfg.seed, 3);       // augmentation and weight noise
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
    first_epoch = load_checkpoint(opt.checkpoint, fp, t, rng, aug, order, model, *optim) + 1;
    if (opt.log) *opt.log << fmt::format("resuming after epoch {} from {}\n", first_epoch - 1, opt.checkpoint.string());
  }
  if (opt.log) {
    *opt.log << fmt::format("training {}: {} images, {} epochs, batch {}, {} lr {:g} -> {:g} (cosine), weight decay {:g}, "
                            "augmentation shift {} flip {}, seed {}, libtorch {} threads",
                            arch.name, train.count, cfg.epochs, B, cfg.optimizer, cfg.lr, cfg.lr_final, cfg.weight_decay,
                            cfg.augment_shift, cfg.augment_flip, cfg.seed, threads);
    if (cfg.weight_noise > 0) *opt.log << fmt::format("\n  weight-noise injection: eta = {:g} of each layer's max|W|", cfg.weight_noise);
    if (arch.weight_bits || arch.activation_bits)
      *opt.log << fmt::format("\n  quantization: weights {} bits, activations {} bits", arch.weight_bits, arch.activation_bits);
    *opt.log << "\n" << std::flush;
  }
  const auto& units = model.units();
  RealTrainResult result;
  std::vector<torch::Tensor> noise(units.size());
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
      const auto x = batch_images(train, idx, B, arch.input_scale, cfg.augment_shift, cfg.augment_flip, &aug);
      ForwardContext ctx;
      ctx.mode = BnMode::train;
      if (cfg.weight_noise > 0) {
        torch::NoGradGuard ng;
        for (size_t ui = 0; ui < units.size(); ++ui) {
          ForwardContext clean;
          const auto w = effective_weight(model, ui, clean).detach();
          const double sigma = cfg.weight_noise * w.abs().max().item<double>();
          std::vector<float> z(size_t(w.numel()));
          for (auto& v : z) v = float(sigma * aug.normal());
          noise[ui] = torch::from_blob(z.data(), w.sizes(), torch::kFloat32).clone();
        }
        ctx.noise = &noise;
      }
      const auto logits = forward(model, x, ctx);
      const auto labels = batch_labels(train, idx, B);
      const auto loss = F::cross_entropy(logits, labels);
      optim->zero_grad();
      loss.backward();
      const double schedule = total_steps > 0 ? double(t) / double(total_steps) : 0.0;
      lr = cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1.0 + std::cos(M_PI * schedule));
      for (auto& g : optim->param_groups()) g.options().set_lr(lr);
      optim->step();
      ++t;
      if (arch.activation_bits > 0) {
        torch::NoGradGuard ng;
        for (const auto& u : units)
          if (!u.image_input) model[u.name + ".input_clip"].clamp_min_(1e-3);
      }
      loss_sum += loss.item<double>();
      correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
      if (progress.enabled())
        progress.set_detail(fmt::format("loss {:.4f}, train {:.2f}%", loss_sum / double(bi + 1),
                                        100.0 * double(correct) / double((bi + 1) * size_t(B))));
      progress.advance();
    }
    progress.finish();
    RealEpochReport r;
    r.epoch = epoch;
    r.epochs = cfg.epochs;
    r.loss = loss_sum / double(batches);
    r.train_accuracy = double(correct) / double(batches * size_t(B));
    r.lr = lr;
    r.seconds = since(t0);
    if (test) r.test_accuracy = evaluate(model, *test, opt.test_images, 500);
    if (opt.log) {
      *opt.log << fmt::format("epoch {:3d}/{}  loss {:.4f}  train {:6.2f}%", epoch, cfg.epochs, r.loss, 100 * r.train_accuracy);
      if (r.test_accuracy >= 0) *opt.log << fmt::format("  test {:6.2f}%", 100 * r.test_accuracy);
      *opt.log << fmt::format("  lr {:.2e}  {:.1f} s\n", lr, r.seconds) << std::flush;
    }
    if (!opt.checkpoint.empty()) save_checkpoint(opt.checkpoint, fp, epoch, t, rng, aug, order, model, *optim);
    if (opt.on_epoch) opt.on_epoch(r);
    result.epochs.push_back(r);
  }
  if (cfg.recalibrate_bn && cfg.epochs > 0) {
    const auto t0 = Clock::now();
    torch::NoGradGuard ng;
    ForwardContext ctx;
    ctx.mode = BnMode::cumulative;
    for (size_t bi = 0; bi < batches; ++bi) {
      ctx.bn_momentum = 1.0 / double(bi + 1);  // running = mean of the batch statistics so far
      forward(model, batch_images(train, order.data() + bi * size_t(B), B, arch.input_scale, 0, false, nullptr), ctx);
    }
    if (opt.log) *opt.log << fmt::format("batch-norm statistics recalibrated over the training set ({:.1f} s)\n", since(t0));
  }
  result.params = model.export_params();
  if (test) {
    result.test_accuracy = evaluate(model, *test, opt.test_images, 500);
    if (opt.log) *opt.log << fmt::format("final test accuracy (libtorch forward): {:.2f}%\n", 100 * result.test_accuracy);
  }
  result.seconds = since(t_start);
  return result;
}

}  // namespace xbarkit::train
