#pragma once
// IDX datasets (the MNIST / Fashion-MNIST file format), gzip-compressed or plain.
//
// An IDX file is a big-endian header (magic 0x0000TTDD: T = element type, D = number of dimensions,
// then D big-endian uint32 sizes) followed by the elements. Images are type 0x08 (uint8) with
// 3 dimensions (count, rows, cols); labels are uint8 with 1 dimension (count).
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace xbarkit::nn {

struct Dataset {
  std::string name;         // e.g. "fashion-mnist/t10k"
  size_t count = 0;         // number of images
  int channels = 1;         // IDX images are single-channel
  int rows = 0, cols = 0;   // image height, width
  std::vector<uint8_t> pixels;  // count × channels × rows × cols, 0..255
  std::vector<uint8_t> labels;  // count

  size_t image_size() const { return static_cast<size_t>(channels) * rows * cols; }
  std::span<const uint8_t> image(size_t i) const { return {pixels.data() + i * image_size(), image_size()}; }
  // The first n images (n >= count: a copy of everything).
  Dataset head(size_t n) const;
};

enum class Split { Train, Test };

// Directory of Debian's dataset-fashion-mnist package.
std::filesystem::path default_fashion_mnist_dir();

// Reads <dir>/{train,t10k}-images-idx3-ubyte[.gz] and the matching labels-idx1 file. Missing,
// truncated or corrupt files (bad magic, wrong dimensions, short data, label out of range,
// image/label count mismatch) throw InputError naming the file.
Dataset load_fashion_mnist(const std::filesystem::path& dir, Split split);
inline Dataset load_fashion_mnist(Split split) { return load_fashion_mnist(default_fashion_mnist_dir(), split); }

// Lower level: the decompressed bytes of an IDX file (gzip detected by its magic bytes).
std::string read_maybe_gzipped(const std::filesystem::path& path);
// Parses one IDX file: returns the dimensions and fills `data` (element type must be uint8).
std::vector<uint32_t> parse_idx_u8(const std::string& bytes, const std::string& file, size_t expected_dims,
                                   std::vector<uint8_t>& data);

// Writes a gzip-compressed IDX uint8 file (used by tests and by users converting their own data).
void write_idx_u8_gz(const std::filesystem::path& path, const std::vector<uint32_t>& dims,
                     const std::vector<uint8_t>& data);

}  // namespace xbarkit::nn
