// xbarkit train ARCH -o WEIGHTS : train a binary network on libtorch (train/trainer.hpp), optionally
// with the crossbar in the loop (--hardware plus the crossbar options of `xbarkit infer`), and write
// its safetensors weights with metadata naming the data, the configuration and the hardware.
// Real-valued networks (format xbarkit-real-1) go to train/real_trainer.hpp instead (train_real).
#include <chrono>
#include <iostream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "progress_cli.hpp"
#include "registry.hpp"
#include "sim_options_cli.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/stop.hpp"
#include "xbarkit/imc/evaluate.hpp"
#include "xbarkit/imc/sim_options.hpp"
#include "xbarkit/lut/bundle.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/nn/real_model.hpp"
#include "xbarkit/nn/real_network.hpp"
#include "xbarkit/train/real_trainer.hpp"
#include "xbarkit/train/trainer.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_train {
namespace {

struct Options {
  std::string arch, output, data, init, sc_update, sc_scale = "row-col", sc_chop = "on";
  int epochs = -1, batch = -1;
  int64_t seed = -1;
  double lr = -1, lr_final = -1, weight_noise = -1;
  unsigned threads = 0;
  size_t train_images = 0, test_images = 0;
  bool quiet = false, no_test = false, resume = false, json = false;
  xbarkit::ProgressMode progress = xbarkit::ProgressMode::automatic;
  bool hardware = false, stochastic = false;
  uint64_t train_chips = 0;
  xbarkit::imc::SimOptions sim;
};

// A bundle directory's identity for the weights' metadata: the SHA-256 of its manifest (lut.json,
// which holds the digests of every table and file of the bundle).
std::string bundle_digest(const std::string& dir) {
  xbarkit::lut::load_bundle(dir);  // verified, so the digest names a consistent bundle
  return xbarkit::sha256_hex(xbarkit::read_text_file(std::filesystem::path(dir) / "lut.json"));
}

// The bundle a converter spec names ("adc:DIR", "mtj:DIR[@FIT]:L"), or "".
std::string converter_bundle(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon == std::string::npos) return "";
  std::string rest = spec.substr(colon + 1);
  if (spec.compare(0, colon, "mtj") == 0) {
    rest = rest.substr(0, rest.rfind(':'));
    if (rest == "stox") return "";
    if (const auto at = rest.rfind('@'); at != std::string::npos) rest = rest.substr(0, at);
  }
  return spec.compare(0, colon, "adc") == 0 || spec.compare(0, colon, "mtj") == 0 ? rest : "";
}

// Real-valued networks (format xbarkit-real-1, nn/real_model.hpp): train/real_trainer.hpp.
void train_real(const Options& o) {
  namespace nn = xbarkit::nn;
  namespace train = xbarkit::train;
  if (o.hardware || o.stochastic || o.train_chips || !o.sc_update.empty())
    throw xbarkit::InputError(o.arch, "format", "--hardware, --stochastic-psum, --train-chips and --sc-update apply to "
                                                "binary networks only (this is an xbarkit-real-1 network)");
  const auto arch = nn::load_real_architecture(o.arch);
  train::RealTrainOptions to;
  to.config = arch.train;
  if (o.epochs >= 0) to.config.epochs = o.epochs;
  if (o.batch > 0) to.config.batch = o.batch;
  if (o.lr > 0) to.config.lr = o.lr;
  if (o.lr_final >= 0) to.config.lr_final = o.lr_final;
  if (o.seed >= 0) to.config.seed = uint64_t(o.seed);
  if (o.weight_noise >= 0) to.config.weight_noise = o.weight_noise;
  if (!o.init.empty()) to.init = nn::read_real_params(arch, o.init);
  const std::filesystem::path dir = o.data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(o.data);
  auto data = nn::load_fashion_mnist(dir, nn::Split::Train);
  if (o.train_images > 0) data = data.head(o.train_images);
  std::optional<nn::Dataset> test;
  if (!o.no_test) test = nn::load_fashion_mnist(dir, nn::Split::Test);
  to.threads = o.threads;
  to.test_images = o.test_images;
  to.log = o.quiet ? nullptr : o.json ? &std::cerr : &std::cout;
  to.progress = o.quiet ? xbarkit::ProgressMode::off : o.progress;
  to.checkpoint = o.output + ".checkpoint";
  to.resume = o.resume;
  const xbarkit::StopSignals stop;
  auto result = train::train_real_network(arch, data, test ? &*test : nullptr, to);
  auto& md = result.params.metadata;
  const auto& c = to.config;
  md["xbarkit_version"] = XBARKIT_VERSION;
  md["trainer"] = "libtorch";
  md["dataset"] = data.name;
  md["train_images"] = std::to_string(data.count);
  md["epochs"] = std::to_string(c.epochs);
  md["seed"] = std::to_string(c.seed);
  md["batch"] = std::to_string(c.batch);
  md["optimizer"] = c.optimizer;
  md["lr"] = fmt::format("{:g}", c.lr);
  md["lr_final"] = fmt::format("{:g}", c.lr_final);
  md["weight_decay"] = fmt::format("{:g}", c.weight_decay);
  md["augment"] = fmt::format("shift {} flip {}", c.augment_shift, c.augment_flip);
  md["weight_noise"] = fmt::format("{:g}", c.weight_noise);
  md["threads"] = std::to_string(o.threads);
  if (!o.init.empty()) md["init"] = o.init + " (sha256 " + xbarkit::sha256_hex(xbarkit::read_text_file(o.init)) + ")";
  if (result.test_accuracy >= 0) md["test_accuracy_torch"] = fmt::format("{:.4f}", result.test_accuracy);
  md["train_seconds"] = fmt::format("{:.0f}", result.seconds);
  // The C++ inference (float path) on the test set: what `xbarkit` reports for these weights.
  double cpp_accuracy = -1;
  if (test) {
    const auto t0 = std::chrono::steady_clock::now();
    const nn::RealNetwork net(arch, result.params);
    cpp_accuracy = net.accuracy(*test, o.test_images, o.threads);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    md["test_accuracy"] = fmt::format("{:.4f}", cpp_accuracy);
    if (to.log)
      *to.log << fmt::format("test accuracy (C++ inference, float path): {:.2f}% ({} images, {:.1f} s)\n", 100 * cpp_accuracy,
                             o.test_images ? std::min(o.test_images, test->count) : test->count, secs);
  }
  nn::write_real_params(arch, result.params, o.output);
  std::error_code ec;
  std::filesystem::remove(to.checkpoint, ec);
  if (o.json) {
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& r : result.epochs)
      epochs.push_back({{"epoch", r.epoch}, {"loss", r.loss}, {"train_accuracy", r.train_accuracy},
                        {"test_accuracy", r.test_accuracy >= 0 ? nlohmann::json(r.test_accuracy) : nlohmann::json()},
                        {"lr", r.lr}, {"seconds", r.seconds}});
    nlohmann::json j{{"output", o.output},
                     {"architecture", arch.name},
                     {"format", nn::kRealFormat},
                     {"train_images", data.count},
                     {"epochs", epochs},
                     {"test_accuracy", cpp_accuracy >= 0 ? nlohmann::json(cpp_accuracy) : nlohmann::json()},
                     {"test_on", "C++ inference, float path"},
                     {"seconds", result.seconds},
                     {"metadata", md}};
    std::cout << j.dump(2) << "\n";
  } else if (!o.quiet) {
    std::cout << fmt::format("wrote {} ({:.1f} s)\n", o.output, result.seconds);
  }
}

const xbarkit::cli::Register reg("train", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("train", "Train a binary (xbarkit-bnn-1) or real-valued (xbarkit-real-1) neural network (architecture TOML) on Fashion-MNIST or other "
                                          "IDX data with libtorch, optionally with the crossbar in the loop");
  cmd->add_option("arch", opt->arch, "Architecture file, e.g. models/networks/bnn_cnn.toml or models/networks/resnet_fmnist.toml")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "Weights file to write (safetensors, atomically)")->required();
  cmd->add_option("--init", opt->init, "Fine-tune from these weights (safetensors of the same architecture) instead "
                                       "of a seeded initialization");
  cmd->add_option("--epochs", opt->epochs, "Epochs (default: the architecture's [train] epochs)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", opt->batch, "Batch size (default: [train] batch)")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", opt->lr, "Initial Adam learning rate (default: [train] lr)")->check(CLI::PositiveNumber);
  cmd->add_option("--lr-final", opt->lr_final, "Learning rate at the end of the cosine decay (default: [train] lr_final)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->seed, "Seed of initialization, shuffling and crossbar draws (default: [train] seed)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores). libtorch's reductions depend on it: the same "
                                             "seed and thread count give identical weights");
  cmd->add_option("--weight-noise", opt->weight_noise,
                  "Real-valued networks: noise-injection training (Joshi et al. 2020), every batch's forward pass "
                  "uses W + ETA*max|W|*N(0,1) per layer (default: [train] weight_noise)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--resume", opt->resume,
                "Continue from OUTPUT.checkpoint (written after every epoch) after an interrupted run; the result "
                "is bit-identical to an uninterrupted one");
  cmd->add_option("--data", opt->data, "Directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (default: Debian's Fashion-MNIST)");
  cmd->add_option("--train-images", opt->train_images, "Use only the first N training images (0 = all)");
  cmd->add_option("--test-images", opt->test_images, "Evaluate on the first N test images (0 = all)");
  cmd->add_flag("--no-test", opt->no_test, "Skip the per-epoch test-set evaluation");
  cmd->add_flag("-q,--quiet", opt->quiet, "Print nothing but errors");
  xbarkit::cli::add_progress_options(cmd, opt->progress);
  cmd->add_flag("--json", opt->json,
                "Print one JSON summary on stdout (weights file, per-epoch loss/accuracy/lr/seconds, final test "
                "accuracy, hardware); the log goes to stderr");
  auto* hw = cmd->add_flag("--hardware", opt->hardware,
                           "Crossbar in the loop: every binary layer's forward pass is the simulated crossbar of the "
                           "options below (as `xbarkit infer` runs it), the backward pass a straight-through estimator");
  cmd->add_flag("--stochastic-psum", opt->stochastic,
                "With an mtj converter: StoX-Net partial-sum-aware training (learned per-channel affine before the "
                "MTJ, the samples' mean forward, their expected value backward; the output layer stays digital)")
      ->needs(hw);
  cmd->add_option("--train-chips", opt->train_chips,
                  "Variation-aware training on a converter population (adc bundle): every training image runs on a "
                  "chip drawn from 0..N-1 (0 = always --chip); --chip is the chip the per-epoch test uses")
      ->needs(hw);
  cmd->add_option("--sc-update", opt->sc_update,
                  "Weight gradients by stochastic computing (Lammie et al. 2021): every layer's dL/dW = sum of "
                  "delta x^T outer products (conv: im2col patches) from XNOR-counted bipolar streams of L bits, each "
                  "operand scaled as --sc-scale says; SOURCE:L with SOURCE = ideal (Bernoulli bits) or "
                  "cbram[@DEVICE][/PULSES] (CBRAM generators of models/cbram/DEVICE.toml, default ag_asi_gaba2013, with "
                  "device-to-device tau0 spread and a per-device calibration by PULSES counted pulses, default "
                  "1000), e.g. cbram:64. Not with --hardware");
  cmd->add_option("--sc-scale", opt->sc_scale,
                  "How --sc-update scales each operand into [-1, 1]: row-col (default; one per generator: each "
                  "output row's errors by their own max over the batch, each input column's activations likewise; "
                  "the counter result times both scales) or tensor (one max |value| per operand tensor and step)")
      ->check(CLI::IsMember({"tensor", "row-col"}))
      ->needs("--sc-update");
  cmd->add_option("--sc-chop", opt->sc_chop,
                  "Chopping of --sc-update's operands: on (default; each sample's error and activation are negated "
                  "together with probability 1/2, which cancels a generator's offset error, such as a CBRAM "
                  "device's calibration error, to first order; what it cancels becomes per-sample noise) or off")
      ->check(CLI::IsMember({"on", "off"}))
      ->needs("--sc-update");
  xbarkit::cli::add_sim_options(cmd, opt->sim, false);
  cmd->callback([opt] {
    namespace nn = xbarkit::nn;
    namespace imc = xbarkit::imc;
    namespace train = xbarkit::train;
    xbarkit::check_output_file(opt->output, "--output");  // before the training, not after it
    if (nn::is_real_architecture_file(opt->arch)) return train_real(*opt);
    if (opt->weight_noise >= 0)
      throw xbarkit::InputError("", "--weight-noise", "applies to real-valued networks (format xbarkit-real-1) only");
    const auto arch = nn::load_architecture(opt->arch);
    train::TrainOptions to;
    to.config = arch.train;
    if (opt->epochs >= 0) to.config.epochs = opt->epochs;
    if (opt->batch > 0) to.config.batch = opt->batch;
    if (opt->lr > 0) to.config.lr = opt->lr;
    if (opt->lr_final >= 0) to.config.lr_final = opt->lr_final;
    if (opt->seed >= 0) to.config.seed = uint64_t(opt->seed);
    // The hardware is checked (bundles loaded, kinds and rows matched) before any training starts.
    if (opt->hardware) {
      opt->sim.seed = to.config.seed;
      train::HardwareInLoop h;
      h.sim = imc::make_sim_config(opt->sim);
      h.stochastic_psum = opt->stochastic;
      h.train_chips = opt->train_chips;
      if (h.stochastic_psum && opt->sim.converter.rfind("mtj:", 0) != 0)
        throw xbarkit::InputError("", "--stochastic-psum", fmt::format("needs an mtj converter, got '{}'", opt->sim.converter));
      to.hardware = h;
    } else if (opt->stochastic || opt->train_chips) {
      throw xbarkit::InputError("", "--hardware", "--stochastic-psum and --train-chips need --hardware");
    }
    if (!opt->sc_update.empty()) {
      if (opt->hardware) throw xbarkit::InputError("", "--sc-update", "cannot be combined with --hardware (SC weight updates train the plain network; the crossbar-in-the-loop trainer keeps the float update): use one or the other");
      to.sc_update = train::parse_sc_update(opt->sc_update);
      to.sc_update->scaling = opt->sc_scale == "row-col" ? xbarkit::sc::Scaling::row_col : xbarkit::sc::Scaling::tensor;
      to.sc_update->chop = opt->sc_chop == "on";
    }
    if (!opt->init.empty()) to.init = nn::read_params(arch, opt->init);
    const std::filesystem::path dir = opt->data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(opt->data);
    auto data = nn::load_fashion_mnist(dir, nn::Split::Train);
    if (opt->train_images > 0) data = data.head(opt->train_images);
    std::optional<nn::Dataset> test;
    if (!opt->no_test) test = nn::load_fashion_mnist(dir, nn::Split::Test);
    to.threads = opt->threads;
    to.test_images = opt->test_images;
    to.log = opt->quiet ? nullptr : opt->json ? &std::cerr : &std::cout;
    to.progress = opt->quiet ? xbarkit::ProgressMode::off : opt->progress;
    to.checkpoint = opt->output + ".checkpoint";  // removed once the weights are written
    to.resume = opt->resume;
    const xbarkit::StopSignals stop;  // SIGINT/SIGTERM end the current batch; the checkpoint stays
    auto result = train::train_network(arch, data, test ? &*test : nullptr, to);
    auto& md = result.params.metadata;
    md["xbarkit_version"] = XBARKIT_VERSION;
    md["trainer"] = "libtorch";
    md["dataset"] = data.name;
    md["train_images"] = std::to_string(data.count);
    md["epochs"] = std::to_string(to.config.epochs);
    md["seed"] = std::to_string(to.config.seed);
    md["batch"] = std::to_string(to.config.batch);
    md["lr"] = fmt::format("{:g}", to.config.lr);
    md["threads"] = std::to_string(opt->threads);
    if (!opt->init.empty()) md["init"] = opt->init + " (sha256 " + xbarkit::sha256_hex(xbarkit::read_text_file(opt->init)) + ")";
    if (to.hardware) {
      const auto& s = to.hardware->sim;
      md["hardware"] = imc::describe(s);
      md["hardware_rows"] = std::to_string(s.rows);
      md["hardware_mapping"] = imc::to_string(s.mapping);
      md["hardware_binsparx"] = imc::to_string(s.binsparx);
      md["hardware_converter"] = s.converter;
      md["hardware_cell"] = s.cell;
      md["hardware_stochastic_psum"] = to.hardware->stochastic_psum ? "true" : "false";
      md["hardware_train_chips"] = std::to_string(to.hardware->train_chips);
      if (!opt->sim.array_lut.empty()) md["hardware_array_lut_sha256"] = bundle_digest(opt->sim.array_lut);
      if (const auto b = converter_bundle(s.converter); !b.empty()) md["hardware_converter_bundle_sha256"] = bundle_digest(b);
    }
    if (to.sc_update) {
      md["sc_update"] = opt->sc_update;
      md["sc_update_description"] = train::describe(*to.sc_update);
      md["sc_scale"] = opt->sc_scale;
      md["sc_chop"] = opt->sc_chop;
    }
    if (result.test_accuracy >= 0) md["test_accuracy"] = fmt::format("{:.4f}", result.test_accuracy);
    md["train_seconds"] = fmt::format("{:.0f}", result.seconds);
    nn::write_params(arch, result.params, opt->output);
    std::error_code ec;
    std::filesystem::remove(to.checkpoint, ec);
    if (opt->json) {
      nlohmann::json epochs = nlohmann::json::array();
      for (const auto& r : result.epochs)
        epochs.push_back({{"epoch", r.epoch}, {"loss", r.loss}, {"train_accuracy", r.train_accuracy},
                          {"test_accuracy", r.test_accuracy >= 0 ? nlohmann::json(r.test_accuracy) : nlohmann::json()},
                          {"lr", r.lr}, {"seconds", r.seconds}});
      nlohmann::json j{{"output", opt->output},
                       {"architecture", arch.name},
                       {"train_images", data.count},
                       {"epochs", epochs},
                       {"test_accuracy", result.test_accuracy >= 0 ? nlohmann::json(result.test_accuracy) : nlohmann::json()},
                       {"test_on", to.hardware ? "crossbar" : "bit-packed path"},
                       {"seconds", result.seconds},
                       {"metadata", md}};
      std::cout << j.dump(2) << "\n";
    } else if (!opt->quiet) {
      std::cout << fmt::format("wrote {} ({:.1f} s)\n", opt->output, result.seconds);
    }
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_train
