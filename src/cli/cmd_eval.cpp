// xbarkit eval ARCH [WEIGHTS] : test accuracy of a binary network on the bit-packed inference path.
#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "registry.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/parallel.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/network.hpp"

// Named around the anonymous namespace so the files of this directory can be compiled together
// (the target is a unity build): each file's helpers stay its own.
namespace xbarkit::cli::cmd_eval {
namespace {

struct Options {
  std::string arch, weights, data;
  size_t images = 0;
  unsigned threads = 0;
  bool json = false, reference = false;
};

const xbarkit::cli::Register reg("eval", [](CLI::App& app) {
  auto opt = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("eval", "Test accuracy of a binary network (bit-packed, folded-threshold inference)");
  cmd->add_option("arch", opt->arch, "Architecture file (e.g. models/networks/bnn_cnn.toml)")->required()->check(CLI::ExistingFile);
  cmd->add_option("weights", opt->weights, "Weights (safetensors); default: the architecture path with .safetensors");
  cmd->add_option("--images", opt->images, "Evaluate the first N test images (0 = all)");
  cmd->add_option("--data", opt->data, "Directory with t10k-{images-idx3,labels-idx1}-ubyte[.gz] (default: Debian's Fashion-MNIST)");
  cmd->add_option("--threads", opt->threads, "Threads (0 = all cores)");
  cmd->add_flag("--reference", opt->reference,
                "Also evaluate the straightforward floating-point network and count predictions that differ");
  cmd->add_flag("--json", opt->json, "Print one JSON object (accuracy as a fraction, images, ...)");
  cmd->callback([opt] {
    namespace nn = xbarkit::nn;
    std::filesystem::path weights = opt->weights;
    if (weights.empty()) weights = std::filesystem::path(opt->arch).replace_extension(".safetensors");
    auto arch = nn::load_architecture(opt->arch);
    const auto params = nn::read_params(arch, weights);
    const nn::Network net(arch, params);
    const auto test = nn::load_fashion_mnist(opt->data.empty() ? nn::default_fashion_mnist_dir() : std::filesystem::path(opt->data), nn::Split::Test);
    const auto t0 = std::chrono::steady_clock::now();
    const auto pred = net.predict_all(test, opt->images, opt->threads);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double acc = nn::Network::accuracy(pred, test);
    size_t correct = 0;
    for (size_t i = 0; i < pred.size(); ++i) correct += pred[i] == int(test.labels[i]);
    nlohmann::ordered_json j;
    j["network"] = arch.name;
    j["weights"] = weights.string();
    j["dataset"] = test.name;
    j["images"] = pred.size();
    j["correct"] = correct;
    j["accuracy"] = acc;
    j["seconds"] = secs;
    j["images_per_second"] = secs > 0 ? double(pred.size()) / secs : 0.0;
    if (opt->reference) {
      std::vector<int> ref(pred.size());
      const nn::FloatReference reference(arch, params);
      xbarkit::parallel_for(pred.size(), opt->threads, [&](size_t i) {
        ref[i] = nn::argmax(reference.logits(test.image(i).data()));
      }, 16);
      size_t differ = 0;
      for (size_t i = 0; i < pred.size(); ++i) differ += ref[i] != pred[i];
      j["reference_accuracy"] = nn::Network::accuracy(ref, test);
      j["reference_mismatches"] = differ;
    }
    if (opt->json) {
      std::cout << j.dump(2) << "\n";
      return;
    }
    std::cout << fmt::format("{}: {}/{} correct, test accuracy {:.2f}% ({:.2f} s, {:.0f} images/s, bit-packed path)\n",
                             arch.name, correct, pred.size(), 100 * acc, secs, j["images_per_second"].get<double>());
    if (opt->reference)
      std::cout << fmt::format("floating-point reference: accuracy {:.2f}%, {} of {} predictions differ\n",
                               100 * j["reference_accuracy"].get<double>(), j["reference_mismatches"].get<size_t>(),
                               pred.size());
  });
});

}  // namespace
}  // namespace xbarkit::cli::cmd_eval
