// Ideal bit-packed inference throughput of the shipped binary networks on the 10,000 Fashion-MNIST
// test images (docs/PERFORMANCE.md, issue 5), on 1 thread and on all cores, and the int8 path a
// crossbar simulator's hook goes through (ideal_matmul in the hook) for comparison.
//   build-nn/bench/bench_nn_inference [models/networks]
#include <chrono>
#include <iostream>

#include <fmt/format.h>

#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/nn/network.hpp"

using namespace xbarkit::nn;

namespace {
struct IdealHook : BinaryMatmulHook {
  void matmul(const BinaryLayer& layer, const int8_t* in, size_t positions, int32_t* out) const override {
    ideal_matmul(layer, in, positions, out);
  }
};
}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? std::filesystem::path(argv[1]) : xbarkit::models_dir() / "networks";
  const auto test = load_fashion_mnist(Split::Test);
  fmt::print("{:<8} {:>8} {:>10} {:>12} {:>10} {:>9}\n", "network", "threads", "path", "images/s", "seconds", "accuracy");
  for (const char* name : {"bnn_mlp", "bnn_cnn"}) {
    const auto net = load_network(dir / name);
    IdealHook hook;
    for (unsigned threads : {1u, xbarkit::default_threads()}) {
      for (int hooked = 0; hooked < 2; ++hooked) {
        const size_t n = hooked ? 2000 : test.count;  // the int8 path is slower; a subset suffices
        net.predict_all(test, 200, threads, hooked ? &hook : nullptr);  // warm-up
        const auto t0 = std::chrono::steady_clock::now();
        const auto pred = net.predict_all(test, n, threads, hooked ? &hook : nullptr);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        fmt::print("{:<8} {:>8} {:>10} {:>12.0f} {:>10.3f} {:>8.2f}%\n", name, threads, hooked ? "int8 hook" : "packed",
                   double(n) / s, s, 100 * Network::accuracy(pred, test));
      }
    }
  }
  return 0;
}
