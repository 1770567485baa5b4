// xbarkit train ARCH -o WEIGHTS : train a binary network (latent weights + straight-through
// estimator, Adam, batch norm) on an IDX dataset and write its safetensors weights.
#include <unistd.h>

#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "registry.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/gemm.hpp"
#include "xbarkit/nn/model.hpp"
#include "xbarkit/nn/trainer.hpp"

namespace {

struct Options {
  std::string arch, output, data;
  int epochs = -1;
  int64_t seed = -1;
  unsigned threads = 0;
  size_t train_images = 0, test_images = 0;
  bool quiet = false, no_test = false, resume = false;
};

const xbarkit::cli::Register reg("train", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("train", "Train a binary neural network (architecture TOML) on Fashion-MNIST or other IDX data");
  cmd->add_option("arch", opt->arch, "Architecture file, e.g. models/networks/bnn_cnn.toml")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--output", opt->output, "Weights file to write (safetensors, atomically)")->required();
  cmd->add_option("--epochs", opt->epochs, "Epochs (default: the architecture's [train] epochs)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->seed, "Seed of initialization and shuffling (default: [train] seed)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores)");
  cmd->add_flag("--resume", opt->resume,
                "Continue from OUTPUT.checkpoint (written after every epoch) after an interrupted run; the result "
                "is bit-identical to an uninterrupted one");
  cmd->add_option("--data", opt->data, "Directory with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (default: Debian's Fashion-MNIST)");
  cmd->add_option("--train-images", opt->train_images, "Use only the first N training images (0 = all)");
  cmd->add_option("--test-images", opt->test_images, "Evaluate on the first N test images (0 = all)");
  cmd->add_flag("--no-test", opt->no_test, "Skip the per-epoch test-set evaluation");
  cmd->add_flag("-q,--quiet", opt->quiet, "Print nothing but errors");
  cmd->callback([opt, cmd] {
    namespace nn = xbarkit::nn;
    xbarkit::check_output_file(opt->output, "--output");  // before the training, not after it
    const auto arch = nn::load_architecture(opt->arch);
    const std::filesystem::path dir = opt->data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(opt->data);
    auto train = nn::load_fashion_mnist(dir, nn::Split::Train);
    if (opt->train_images > 0) train = train.head(opt->train_images);
    std::optional<nn::Dataset> test;
    if (!opt->no_test) test = nn::load_fashion_mnist(dir, nn::Split::Test);
    nn::TrainOptions to;
    to.config = arch.train;
    if (opt->epochs >= 0) to.config.epochs = opt->epochs;
    if (opt->seed >= 0) to.config.seed = uint64_t(opt->seed);
    to.threads = opt->threads;
    to.test_images = opt->test_images;
    to.log = opt->quiet ? nullptr : &std::cout;
    to.progress_bar = !opt->quiet && ::isatty(STDERR_FILENO);
    to.checkpoint = opt->output + ".checkpoint";  // removed once the weights are written
    to.resume = opt->resume;
    auto result = nn::train_network(arch, train, test ? &*test : nullptr, to);
    auto& md = result.params.metadata;
    md["xbarkit_version"] = XBARKIT_VERSION;
    md["dataset"] = train.name;
    md["train_images"] = std::to_string(train.count);
    md["epochs"] = std::to_string(to.config.epochs);
    md["seed"] = std::to_string(to.config.seed);
    md["batch"] = std::to_string(to.config.batch);
    md["gemm_kernel"] = nn::gemm_kernel_name();
    if (result.test_accuracy >= 0) md["test_accuracy"] = fmt::format("{:.4f}", result.test_accuracy);
    md["train_seconds"] = fmt::format("{:.0f}", result.seconds);
    nn::write_params(arch, result.params, opt->output);
    std::error_code ec;
    std::filesystem::remove(to.checkpoint, ec);
    if (!opt->quiet) std::cout << fmt::format("wrote {} ({:.1f} s)\n", opt->output, result.seconds);
    (void)cmd;
  });
});

}  // namespace
