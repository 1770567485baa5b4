#pragma once
// Helpers shared by the nn tests.
#include <unistd.h>

#include <filesystem>
#include <string>

#include "xbarkit/core/paths.hpp"
#include "xbarkit/nn/dataset.hpp"

namespace nn_test {

// A fresh temporary directory, removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "xbarkit_nn_test_XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline const xbarkit::nn::Dataset& test_set() {
  static const auto d = xbarkit::nn::load_fashion_mnist(xbarkit::nn::Split::Test);
  return d;
}
inline const xbarkit::nn::Dataset& train_set() {
  static const auto d = xbarkit::nn::load_fashion_mnist(xbarkit::nn::Split::Train);
  return d;
}
inline std::filesystem::path networks_dir() { return xbarkit::models_dir() / "networks"; }

}  // namespace nn_test
