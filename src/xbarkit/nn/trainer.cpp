#include "xbarkit/nn/trainer.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/gemm.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/nn/trainable.hpp"

namespace xbarkit::nn {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Checkpoint file: "xbarkit-train-checkpoint-1\n", an 8-byte little-endian header length, a JSON
// header (what the state belongs to, epoch, step, generator, buffer names/types/sizes, SHA-256 of
// the payload), then the payload: the shuffle order (uint32) and every buffer, raw little-endian.
constexpr std::string_view kCheckpointMagic = "xbarkit-train-checkpoint-1\n";

// What a checkpoint must match to be resumed: architecture, training configuration, training set.
std::string fingerprint(const Architecture& arch, const TrainConfig& cfg, const Dataset& train) {
  std::string f = fmt::format("{}|{}x{}x{}|{}|", arch.name, arch.in_channels, arch.in_height, arch.in_width, arch.classes);
  for (const auto& l : arch.layers) f += fmt::format("{}:{}:{};", layer_type_name(l.type), l.out, l.pool);
  f += fmt::format("|epochs {} seed {} batch {} lr {:.17g} {:.17g} recal {}|{} {} images", cfg.epochs, cfg.seed,
                   cfg.batch, cfg.lr, cfg.lr_final, cfg.recalibrate_bn, train.name, train.count);
  // A sample of the pixels and every label, so another training set of the same size is noticed.
  std::string sample(reinterpret_cast<const char*>(train.labels.data()), train.labels.size());
  for (size_t i = 0; i < train.count; i += std::max<size_t>(1, train.count / 64))
    sample.append(reinterpret_cast<const char*>(train.image(i).data()), train.image(i).size());
  return f + "|" + sha256_hex(sample);
}

template <class Fn>
void for_each_buffer(Trainable<float>& net, Fn&& fn) {
  auto& layers = net.layers();
  for (size_t i = 0; i < layers.size(); ++i) {
    auto& l = layers[i];
    const std::string p = fmt::format("layer{}.", i);
    fn(p + "w", l.w);
    fn(p + "mw", l.mw);
    fn(p + "vw", l.vw);
    fn(p + "gamma", l.gamma);
    fn(p + "beta", l.beta);
    fn(p + "mg", l.mg);
    fn(p + "vg", l.vg);
    fn(p + "mb", l.mb);
    fn(p + "vb", l.vb);
    fn(p + "run_mean", l.run_mean);
    fn(p + "run_var", l.run_var);
  }
}

template <class T>
const char* dtype_of() {
  return sizeof(T) == 4 ? "f32" : "f64";
}

void save_checkpoint(const std::filesystem::path& path, const std::string& fp, int epoch, int64_t step, const Rng& rng,
                     const std::vector<uint32_t>& order, Trainable<float>& net) {
  std::string payload(reinterpret_cast<const char*>(order.data()), order.size() * sizeof(uint32_t));
  nlohmann::json buffers = nlohmann::json::array();
  for_each_buffer(net, [&](const std::string& name, const auto& v) {
    using T = typename std::decay_t<decltype(v)>::value_type;
    buffers.push_back({{"name", name}, {"dtype", dtype_of<T>()}, {"count", v.size()}});
    payload.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  });
  const auto st = rng.state();
  nlohmann::json h{{"fingerprint", fp},
                   {"epoch", epoch},
                   {"step", step},
                   {"rng", {std::to_string(st.s[0]), std::to_string(st.s[1]), std::to_string(st.s[2]), std::to_string(st.s[3])}},
                   {"rng_spare", st.spare},
                   {"rng_has_spare", st.has_spare},
                   {"order", order.size()},
                   {"buffers", buffers},
                   {"payload_sha256", sha256_hex(payload)}};
  const std::string header = h.dump();
  const uint64_t n = header.size();
  std::string out(kCheckpointMagic);
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += header;
  out += payload;
  write_file_atomic(path, out);
}

// Restores the state; returns the epoch the checkpoint finished. Every mismatch is an InputError
// naming the file.
int load_checkpoint(const std::filesystem::path& path, const std::string& fp, int64_t& step, Rng& rng,
                    std::vector<uint32_t>& order, Trainable<float>& net) {
  const std::string file = path.string();
  const std::string bytes = read_text_file(path);
  if (bytes.compare(0, kCheckpointMagic.size(), kCheckpointMagic) != 0)
    throw InputError(file, "", "is not an xbarkit training checkpoint");
  uint64_t n = 0;
  if (bytes.size() < kCheckpointMagic.size() + 8) throw InputError(file, "", "truncated");
  std::memcpy(&n, bytes.data() + kCheckpointMagic.size(), 8);
  const size_t start = kCheckpointMagic.size() + 8;
  if (n > bytes.size() - start) throw InputError(file, "", "truncated header");
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(bytes.substr(start, n));
    if (h.at("fingerprint").get<std::string>() != fp)
      throw InputError(file, "fingerprint",
                       "the checkpoint belongs to another architecture, training configuration or training set; "
                       "start over without --resume");
    const std::string payload = bytes.substr(start + n);
    if (sha256_hex(payload) != h.at("payload_sha256").get<std::string>())
      throw InputError(file, "payload_sha256", "the checkpoint is damaged (SHA-256 mismatch); start over without --resume");
    size_t off = 0;
    auto take = [&](void* dst, size_t len) {
      if (len > payload.size() - off) throw InputError(file, "", "truncated payload");
      std::memcpy(dst, payload.data() + off, len);
      off += len;
    };
    if (h.at("order").get<size_t>() != order.size()) throw InputError(file, "order", "does not match the training set");
    take(order.data(), order.size() * sizeof(uint32_t));
    const auto& buffers = h.at("buffers");
    size_t bi = 0;
    for_each_buffer(net, [&](const std::string& name, auto& v) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      if (bi >= buffers.size() || buffers[bi].at("name").get<std::string>() != name ||
          buffers[bi].at("dtype").get<std::string>() != dtype_of<T>() || buffers[bi].at("count").get<size_t>() != v.size())
        throw InputError(file, "buffers", fmt::format("buffer {} does not match the network ({})", bi, name));
      take(v.data(), v.size() * sizeof(T));
      ++bi;
    });
    if (off != payload.size()) throw InputError(file, "", "has trailing bytes");
    Rng::State st{};
    for (int i = 0; i < 4; ++i) st.s[i] = std::stoull(h.at("rng")[i].get<std::string>());
    st.spare = h.at("rng_spare").get<double>();
    st.has_spare = h.at("rng_has_spare").get<bool>();
    rng.set_state(st);
    step = h.at("step").get<int64_t>();
    return h.at("epoch").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file, "", fmt::format("malformed checkpoint header ({})", e.what()));
  } catch (const std::logic_error& e) {  // stoull
    throw InputError(file, "rng", fmt::format("malformed generator state ({})", e.what()));
  }
}

}  // namespace

TrainResult train_network(const Architecture& arch, const Dataset& train, const Dataset* test, const TrainOptions& opt) {
  const auto& cfg = opt.config;
  if (train.channels != arch.in_channels || train.rows != arch.in_height || train.cols != arch.in_width)
    throw Error(fmt::format("{}: the architecture expects {}×{}×{} images, the training set has {}×{}×{}", arch.name,
                            arch.in_channels, arch.in_height, arch.in_width, train.channels, train.rows, train.cols));
  for (size_t i = 0; i < train.count; ++i)
    if (train.labels[i] >= arch.classes)
      throw Error(fmt::format("{}: training label {} of item {} is not below classes = {}", train.name,
                              int(train.labels[i]), i, arch.classes));
  if (train.count < size_t(cfg.batch)) throw Error(fmt::format("training set has fewer images than one batch ({})", cfg.batch));
  const auto t_start = Clock::now();
  Trainable<float> net(arch, cfg.seed);
  net.threads = opt.threads;
  Rng rng(cfg.seed, 1);
  std::vector<uint32_t> order(train.count);
  std::iota(order.begin(), order.end(), 0u);
  const int B = cfg.batch;
  const size_t batches = train.count / size_t(B);  // the remainder of each shuffled epoch is skipped
  const int64_t total_steps = int64_t(batches) * cfg.epochs;
  int64_t t = 0;
  std::vector<const uint8_t*> imgs(static_cast<size_t>(B));
  std::vector<uint8_t> labels(static_cast<size_t>(B));
  TrainResult result;
  int first_epoch = 1;
  const std::string fp = opt.checkpoint.empty() ? std::string() : fingerprint(arch, cfg, train);
  if (opt.resume) {
    if (opt.checkpoint.empty() || !std::filesystem::exists(opt.checkpoint))
      throw InputError(opt.checkpoint.string(), "--resume", "no checkpoint to resume from");
    first_epoch = load_checkpoint(opt.checkpoint, fp, t, rng, order, net) + 1;
    if (opt.log) *opt.log << fmt::format("resuming after epoch {} from {}\n", first_epoch - 1, opt.checkpoint.string());
  }
  if (opt.log)
    *opt.log << fmt::format("training {}: {} images, {} epochs, batch {}, Adam lr {:g} -> {:g} (cosine), seed {}, gemm {}\n",
                            arch.name, train.count, cfg.epochs, B, cfg.lr, cfg.lr_final, cfg.seed, gemm_kernel_name())
             << std::flush;
  auto load_batch = [&](size_t bi) {
    for (int b = 0; b < B; ++b) {
      const uint32_t idx = order[bi * size_t(B) + size_t(b)];
      imgs[size_t(b)] = train.image(idx).data();
      labels[size_t(b)] = train.labels[idx];
    }
  };
  for (int epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
    const auto t0 = Clock::now();
    xbarkit::shuffle(order.begin(), order.end(), rng);
    double loss_sum = 0;
    int correct = 0;
    double lr = cfg.lr;
    for (size_t bi = 0; bi < batches; ++bi) {
      load_batch(bi);
      loss_sum += net.step(imgs.data(), labels.data(), B, true, true, &correct);
      const double progress = total_steps > 0 ? double(t) / double(total_steps) : 0.0;
      lr = cfg.lr_final + 0.5 * (cfg.lr - cfg.lr_final) * (1.0 + std::cos(M_PI * progress));
      net.adam(lr, ++t);
      if (opt.progress_bar && (bi % 20 == 0 || bi + 1 == batches))
        std::cerr << fmt::format("\repoch {}/{}  {:5.1f}%  loss {:.4f}  train {:.2f}%  ", epoch, cfg.epochs,
                                 100.0 * double(bi + 1) / double(batches), loss_sum / double(bi + 1),
                                 100.0 * correct / double((bi + 1) * size_t(B)))
                  << std::flush;
    }
    if (opt.progress_bar) std::cerr << "\r" << std::string(70, ' ') << "\r";
    EpochReport r;
    r.epoch = epoch;
    r.epochs = cfg.epochs;
    r.loss = loss_sum / double(batches);
    r.train_accuracy = double(correct) / double(batches * size_t(B));
    r.lr = lr;
    r.seconds = since(t0);  // training time of the epoch (evaluation excluded)
    if (test) {
      const Network eval(arch, net.export_params());
      r.test_accuracy = Network::accuracy(eval.predict_all(*test, opt.test_images, opt.threads), *test);
    }
    if (opt.log) {
      *opt.log << fmt::format("epoch {:3d}/{}  loss {:.4f}  train {:6.2f}%", epoch, cfg.epochs, r.loss, 100 * r.train_accuracy);
      if (r.test_accuracy >= 0) *opt.log << fmt::format("  test {:6.2f}%", 100 * r.test_accuracy);
      *opt.log << fmt::format("  lr {:.2e}  {:.1f} s\n", lr, r.seconds) << std::flush;
    }
    if (!opt.checkpoint.empty()) save_checkpoint(opt.checkpoint, fp, epoch, t, rng, order, net);
    if (opt.on_epoch) opt.on_epoch(r);
    result.epochs.push_back(r);
  }
  if (cfg.recalibrate_bn && cfg.epochs > 0) {
    // Batch statistics of the final binarized weights over one pass of the training set (no weight
    // updates), replacing the running averages collected while the weights were still moving.
    const auto t0 = Clock::now();
    net.begin_recalibration();
    for (size_t bi = 0; bi < batches; ++bi) {
      load_batch(bi);
      net.step(imgs.data(), labels.data(), B, false, false);
    }
    net.finish_recalibration();
    if (opt.log) *opt.log << fmt::format("batch-norm statistics recalibrated over the training set ({:.1f} s)\n", since(t0));
  }
  result.params = net.export_params();
  if (test) {
    const Network eval(arch, result.params);
    result.test_accuracy = Network::accuracy(eval.predict_all(*test, opt.test_images, opt.threads), *test);
    if (opt.log) *opt.log << fmt::format("final test accuracy (bit-packed path): {:.2f}%\n", 100 * result.test_accuracy);
  }
  result.seconds = since(t_start);
  return result;
}

}  // namespace xbarkit::nn
