#include "xbarkit/nn/dataset.hpp"

#include <zlib.h>

#include <cstring>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"

namespace xbarkit::nn {

namespace fs = std::filesystem;

Dataset Dataset::head(size_t n) const {
  Dataset d;
  d.name = name;
  d.count = std::min(n, count);
  d.channels = channels;
  d.rows = rows;
  d.cols = cols;
  d.pixels.assign(pixels.begin(), pixels.begin() + static_cast<std::ptrdiff_t>(d.count * image_size()));
  d.labels.assign(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(d.count));
  return d;
}

fs::path default_fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

std::string read_maybe_gzipped(const fs::path& path) {
  if (!fs::exists(path)) throw InputError(path.string(), "", "file not found");
  const std::string raw = read_text_file(path);
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b)
    return raw;  // plain IDX
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw InputError(path.string(), "", "zlib initialisation failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  zs.avail_in = static_cast<uInt>(raw.size());
  std::string out;
  out.resize(std::max<size_t>(raw.size() * 4, 1 << 16));
  int rc = Z_OK;
  while (true) {
    if (zs.total_out >= out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + zs.total_out);
    zs.avail_out = static_cast<uInt>(out.size() - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
      inflateEnd(&zs);
      throw InputError(path.string(), "", "truncated gzip stream (the file is incomplete; re-download or reinstall it)");
    }
    if (rc == Z_BUF_ERROR) continue;  // needs more output space
    const std::string msg = zs.msg ? zs.msg : "unknown zlib error";
    inflateEnd(&zs);
    throw InputError(path.string(), "", fmt::format("corrupt gzip data ({})", msg));
  }
  out.resize(zs.total_out);
  inflateEnd(&zs);
  return out;
}

static uint32_t be32(const std::string& b, size_t off) {
  return (uint32_t(uint8_t(b[off])) << 24) | (uint32_t(uint8_t(b[off + 1])) << 16) |
         (uint32_t(uint8_t(b[off + 2])) << 8) | uint32_t(uint8_t(b[off + 3]));
}

std::vector<uint32_t> parse_idx_u8(const std::string& bytes, const std::string& file, size_t expected_dims,
                                   std::vector<uint8_t>& data) {
  if (bytes.size() < 4) throw InputError(file, "", "too short for an IDX header (truncated file?)");
  if (bytes[0] != 0 || bytes[1] != 0)
    throw InputError(file, "", fmt::format("bad IDX magic number 0x{:08x} (the first two bytes must be zero)", be32(bytes, 0)));
  const auto type = static_cast<uint8_t>(bytes[2]);
  const auto ndim = static_cast<uint8_t>(bytes[3]);
  if (type != 0x08)
    throw InputError(file, "", fmt::format("IDX element type 0x{:02x} is not supported (expected 0x08, unsigned byte)", type));
  if (ndim != expected_dims)
    throw InputError(file, "", fmt::format("IDX file has {} dimensions, expected {}", ndim, expected_dims));
  const size_t header = 4 + 4 * size_t(ndim);
  if (bytes.size() < header) throw InputError(file, "", "truncated IDX header");
  std::vector<uint32_t> dims(ndim);
  size_t total = 1;
  for (size_t i = 0; i < ndim; ++i) {
    dims[i] = be32(bytes, 4 + 4 * i);
    if (dims[i] == 0) throw InputError(file, "", fmt::format("IDX dimension {} is zero", i));
    total *= dims[i];
  }
  if (bytes.size() - header < total)
    throw InputError(file, "", fmt::format("short data: the header announces {} bytes, the file has {} (truncated file?)",
                                           total, bytes.size() - header));
  if (bytes.size() - header > total)
    throw InputError(file, "", fmt::format("{} unexpected trailing bytes after the IDX data", bytes.size() - header - total));
  data.assign(reinterpret_cast<const uint8_t*>(bytes.data()) + header,
              reinterpret_cast<const uint8_t*>(bytes.data()) + header + total);
  return dims;
}

static fs::path find_idx(const fs::path& dir, const std::string& stem) {
  const fs::path gz = dir / (stem + ".gz");
  if (fs::exists(gz)) return gz;
  const fs::path plain = dir / stem;
  if (fs::exists(plain)) return plain;
  throw InputError(gz.string(), "",
                   fmt::format("file not found (nor {}); install Debian's dataset-fashion-mnist package or pass the "
                               "directory holding your IDX files", plain.filename().string()));
}

Dataset load_fashion_mnist(const fs::path& dir, Split split) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const fs::path img_path = find_idx(dir, prefix + "-images-idx3-ubyte");
  const fs::path lab_path = find_idx(dir, prefix + "-labels-idx1-ubyte");
  Dataset d;
  d.name = (dir.filename().empty() ? dir.parent_path().filename() : dir.filename()).string() + "/" + prefix;
  const auto idims = parse_idx_u8(read_maybe_gzipped(img_path), img_path.string(), 3, d.pixels);
  const auto ldims = parse_idx_u8(read_maybe_gzipped(lab_path), lab_path.string(), 1, d.labels);
  if (idims[0] != ldims[0])
    throw InputError(lab_path.string(), "",
                     fmt::format("{} labels but {} has {} images", ldims[0], img_path.filename().string(), idims[0]));
  d.count = idims[0];
  d.rows = static_cast<int>(idims[1]);
  d.cols = static_cast<int>(idims[2]);
  for (size_t i = 0; i < d.count; ++i)
    if (d.labels[i] > 9)
      throw InputError(lab_path.string(), "", fmt::format("label {} of item {} is out of range 0..9", int(d.labels[i]), i));
  return d;
}

void write_idx_u8_gz(const fs::path& path, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::string raw;
  raw.push_back(0);
  raw.push_back(0);
  raw.push_back(0x08);
  raw.push_back(static_cast<char>(dims.size()));
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) raw.push_back(static_cast<char>((d >> s) & 0xff));
  raw.append(reinterpret_cast<const char*>(data.data()), data.size());
  // gzip via deflateInit2 with the gzip wrapper.
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("zlib deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(raw.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw Error(fmt::format("{}: gzip compression failed", path.string()));
  out.resize(zs.total_out);
  write_file_atomic(path, out);
}

}  // namespace xbarkit::nn
