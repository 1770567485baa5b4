// Training speed of the shipped architectures (docs/PERFORMANCE.md, issue 5): time of a fixed number
// of training batches (forward + backward + Adam), extrapolated to one 60,000-image epoch, on 1 thread
// and on all cores.
//   build-nn/bench/bench_nn_train [batches=60]
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "xbarkit/core/parallel.hpp"
#include "xbarkit/core/paths.hpp"
#include "xbarkit/nn/dataset.hpp"
#include "xbarkit/nn/gemm.hpp"
#include "xbarkit/nn/trainable.hpp"

using namespace xbarkit::nn;

int main(int argc, char** argv) {
  const int batches = argc > 1 ? std::atoi(argv[1]) : 60;
  const auto train = load_fashion_mnist(Split::Train);
  fmt::print("float GEMM kernel: {}\n", gemm_kernel_name());
  fmt::print("{:<8} {:>8} {:>14} {:>16}\n", "network", "threads", "ms/batch(100)", "s/epoch (60k)");
  for (const char* name : {"bnn_mlp", "bnn_cnn"}) {
    const auto arch = load_architecture(xbarkit::models_dir() / "networks" / (std::string(name) + ".toml"));
    const int B = arch.train.batch;
    for (unsigned threads : {1u, xbarkit::default_threads()}) {
      Trainable<float> net(arch, 1);
      net.threads = threads;
      std::vector<const uint8_t*> imgs(static_cast<size_t>(B));
      std::vector<uint8_t> labels(static_cast<size_t>(B));
      auto run = [&](int b0, int nb) {
        for (int bi = b0; bi < b0 + nb; ++bi) {
          for (int b = 0; b < B; ++b) {
            const size_t idx = (size_t(bi) * size_t(B) + size_t(b)) % train.count;
            imgs[size_t(b)] = train.image(idx).data();
            labels[size_t(b)] = train.labels[idx];
          }
          net.step(imgs.data(), labels.data(), B, true, true);
          net.adam(1e-3, bi + 1);
        }
      };
      run(0, 3);  // warm-up
      const auto t0 = std::chrono::steady_clock::now();
      run(3, batches);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double per_batch = s / batches;
      fmt::print("{:<8} {:>8} {:>14.1f} {:>16.1f}\n", name, threads, 1000 * per_batch,
                 per_batch * double(train.count / size_t(B)));
    }
  }
  return 0;
}
