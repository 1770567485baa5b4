#include "xbarkit/nn/trainer.hpp"

#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/rng.hpp"
#include "xbarkit/nn/gemm.hpp"
#include "xbarkit/nn/network.hpp"
#include "xbarkit/nn/trainable.hpp"

namespace xbarkit::nn {

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }
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
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
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
