#include <catch2/catch.hpp>

#include <array>
#include <fstream>

#include "test_nn_common.hpp"
#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"
#include "xbarkit/nn/dataset.hpp"

using namespace xbarkit::nn;
using nn_test::TempDir;

namespace {
// Writes a small image/label pair under `dir` with the Fashion-MNIST file names.
void write_small_set(const std::filesystem::path& dir, const std::string& prefix, uint32_t n) {
  std::vector<uint8_t> pix(size_t(n) * 4 * 3), lab(n);
  for (size_t i = 0; i < pix.size(); ++i) pix[i] = uint8_t(i * 7);
  for (uint32_t i = 0; i < n; ++i) lab[i] = uint8_t(i % 10);
  write_idx_u8_gz(dir / (prefix + "-images-idx3-ubyte.gz"), {n, 4, 3}, pix);
  write_idx_u8_gz(dir / (prefix + "-labels-idx1-ubyte.gz"), {n}, lab);
}
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const xbarkit::InputError& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("Fashion-MNIST loads from the Debian package with the published sizes and class balance", "[nn][dataset]") {
  const auto& train = nn_test::train_set();
  const auto& test = nn_test::test_set();
  CHECK(train.count == 60000);
  CHECK(test.count == 10000);
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  CHECK(train.pixels.size() == 60000u * 784u);
  // Fashion-MNIST is exactly balanced: 6000 training and 1000 test images per class.
  std::array<int, 10> ctrain{}, ctest{};
  for (auto l : train.labels) ++ctrain[l];
  for (auto l : test.labels) ++ctest[l];
  for (int c = 0; c < 10; ++c) {
    CHECK(ctrain[size_t(c)] == 6000);
    CHECK(ctest[size_t(c)] == 1000);
  }
  // Images are not blank: mean pixel of the test set is ~73 (of 255) for Fashion-MNIST.
  double mean = 0;
  for (auto p : test.pixels) mean += p;
  mean /= double(test.pixels.size());
  CHECK(mean > 60);
  CHECK(mean < 90);
}

TEST_CASE("IDX round trip through a user directory (gzip and plain)", "[nn][dataset]") {
  TempDir dir;
  write_small_set(dir.path, "train", 5);
  write_small_set(dir.path, "t10k", 3);
  const auto d = load_fashion_mnist(dir.path, Split::Test);
  CHECK(d.count == 3);
  CHECK(d.rows == 4);
  CHECK(d.cols == 3);
  CHECK(d.labels == std::vector<uint8_t>{0, 1, 2});
  CHECK(int(d.image(2)[5]) == int(uint8_t((2 * 12 + 5) * 7)));
  // The same data uncompressed is read too.
  const std::string plain = read_maybe_gzipped(dir.path / "t10k-images-idx3-ubyte.gz");
  std::filesystem::remove(dir.path / "t10k-images-idx3-ubyte.gz");
  xbarkit::write_file_atomic(dir.path / "t10k-images-idx3-ubyte", plain);
  CHECK(load_fashion_mnist(dir.path, Split::Test).pixels == d.pixels);
}

TEST_CASE("IDX reader rejects missing, truncated and corrupt files, naming the file", "[nn][dataset]") {
  TempDir dir;
  write_small_set(dir.path, "t10k", 3);
  const auto images = dir.path / "t10k-images-idx3-ubyte.gz";
  const auto labels = dir.path / "t10k-labels-idx1-ubyte.gz";
  const std::string good = xbarkit::read_text_file(images);

  SECTION("missing directory") {
    const auto msg = error_of([&] { load_fashion_mnist(dir.path / "nope", Split::Test); });
    CHECK_THAT(msg, Catch::Contains("nope/t10k-images-idx3-ubyte.gz") && Catch::Contains("not found"));
  }
  SECTION("truncated gzip stream") {
    xbarkit::write_file_atomic(images, good.substr(0, good.size() / 2));
    const auto msg = error_of([&] { load_fashion_mnist(dir.path, Split::Test); });
    CHECK_THAT(msg, Catch::Contains(images.string()) && Catch::Contains("truncated"));
  }
  SECTION("corrupt gzip data") {
    std::string bad = good;
    for (size_t i = 12; i < bad.size() - 8; ++i) bad[i] = char(0xA5);
    xbarkit::write_file_atomic(images, bad);
    const auto msg = error_of([&] { load_fashion_mnist(dir.path, Split::Test); });
    CHECK_THAT(msg, Catch::Contains(images.string()));
    CHECK(msg != "(no error)");
  }
  SECTION("bad magic number") {
    std::string raw = read_maybe_gzipped(images);
    raw[0] = 0x12;
    xbarkit::write_file_atomic(images, raw);  // plain, wrong magic
    CHECK_THAT(error_of([&] { load_fashion_mnist(dir.path, Split::Test); }),
               Catch::Contains(images.string()) && Catch::Contains("magic"));
  }
  SECTION("wrong element type") {
    std::string raw = read_maybe_gzipped(images);
    raw[2] = 0x0D;  // float
    xbarkit::write_file_atomic(images, raw);
    CHECK_THAT(error_of([&] { load_fashion_mnist(dir.path, Split::Test); }), Catch::Contains("element type 0x0d"));
  }
  SECTION("wrong number of dimensions") {
    write_idx_u8_gz(labels, {3, 1, 1}, {0, 1, 2});
    CHECK_THAT(error_of([&] { load_fashion_mnist(dir.path, Split::Test); }),
               Catch::Contains(labels.string()) && Catch::Contains("3 dimensions, expected 1"));
  }
  SECTION("short data") {
    std::string raw = read_maybe_gzipped(images);
    xbarkit::write_file_atomic(images, raw.substr(0, raw.size() - 5));
    CHECK_THAT(error_of([&] { load_fashion_mnist(dir.path, Split::Test); }),
               Catch::Contains(images.string()) && Catch::Contains("short data"));
  }
  SECTION("image/label count mismatch") {
    write_idx_u8_gz(labels, {2}, {0, 1});
    CHECK_THAT(error_of([&] { load_fashion_mnist(dir.path, Split::Test); }), Catch::Contains("2 labels but"));
  }
  SECTION("label out of range") {
    write_idx_u8_gz(labels, {3}, {0, 10, 2});
    CHECK_THAT(error_of([&] { load_fashion_mnist(dir.path, Split::Test); }), Catch::Contains("out of range"));
  }
}
