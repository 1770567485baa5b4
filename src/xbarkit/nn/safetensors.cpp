#include "xbarkit/nn/safetensors.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"

namespace xbarkit::nn {

size_t Tensor::numel() const {
  size_t n = 1;
  for (auto d : shape) n *= static_cast<size_t>(d);
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

static_assert(sizeof(float) == 4 && sizeof(double) == 8);

TensorFile parse_safetensors(const std::string& bytes, const std::string& file) {
  if (bytes.size() < 8) throw InputError(file, "", "too short for a safetensors file (truncated?)");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  if (n > bytes.size() - 8)
    throw InputError(file, "", fmt::format("header length {} exceeds the file size {} (truncated or not a safetensors file)",
                                           n, bytes.size()));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
    throw InputError(file, "", fmt::format("malformed JSON header ({})", e.what()));
  }
  if (!header.is_object()) throw InputError(file, "", "the JSON header is not an object");
  const size_t data_start = 8 + n;
  const size_t data_size = bytes.size() - data_start;
  TensorFile tf;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") {
      if (!info.is_object()) throw InputError(file, "__metadata__", "must be an object of strings");
      for (const auto& [k, v] : info.items()) {
        if (!v.is_string()) throw InputError(file, "__metadata__." + k, "metadata values must be strings");
        tf.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    if (!info.is_object() || !info.contains("dtype") || !info.contains("shape") || !info.contains("data_offsets"))
      throw InputError(file, name, "tensor entry needs dtype, shape and data_offsets");
    if (!info["dtype"].is_string()) throw InputError(file, name, "dtype must be a string");
    const std::string dtype = info["dtype"].get<std::string>();
    size_t esize = 0;
    if (dtype == "F32") esize = 4;
    else if (dtype == "F64") esize = 8;
    else
      throw InputError(file, name, fmt::format("dtype {} is not supported (use F32, e.g. tensor.float() in PyTorch)", dtype));
    Tensor t;
    if (!info["shape"].is_array()) throw InputError(file, name, "shape must be an array");
    for (const auto& d : info["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) throw InputError(file, name, "shape entries must be non-negative integers");
      t.shape.push_back(d.get<int64_t>());
    }
    const auto& off = info["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw InputError(file, name, "data_offsets must be [begin, end]");
    const uint64_t b = off[0].get<uint64_t>(), e = off[1].get<uint64_t>();
    if (b > e || e > data_size)
      throw InputError(file, name, fmt::format("data_offsets [{}, {}] outside the {} data bytes (truncated file?)", b, e, data_size));
    if (e - b != t.numel() * esize)
      throw InputError(file, name, fmt::format("data_offsets span {} bytes but shape {} of {} needs {}", e - b,
                                               shape_string(t.shape), dtype, t.numel() * esize));
    ranges.emplace_back(b, e);
    t.data.resize(t.numel());
    const char* src = bytes.data() + data_start + b;
    if (esize == 4) {
      std::memcpy(t.data.data(), src, t.numel() * 4);  // little-endian hosts only (x86-64, aarch64)
    } else {
      for (size_t i = 0; i < t.numel(); ++i) {
        double v;
        std::memcpy(&v, src + 8 * i, 8);
        t.data[i] = static_cast<float>(v);
      }
    }
    tf.tensors.emplace(name, std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) throw InputError(file, "", "tensor data ranges overlap");
  return tf;
}

TensorFile read_safetensors(const std::filesystem::path& path) {
  return parse_safetensors(read_text_file(path), path.string());
}

std::string serialize_safetensors(const TensorFile& tf) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!tf.metadata.empty()) header["__metadata__"] = tf.metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tf.tensors) {
    if (t.data.size() != t.numel()) throw Error(fmt::format("tensor {}: data size does not match its shape", name));
    header[name] = {{"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + 4 * t.numel()}}};
    offset += 4 * t.numel();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');  // the spec allows trailing spaces; keeps data aligned
  std::string out(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += h;
  for (const auto& [name, t] : tf.tensors) out.append(reinterpret_cast<const char*>(t.data.data()), 4 * t.numel());
  return out;
}

void write_safetensors(const std::filesystem::path& path, const TensorFile& tf) {
  write_file_atomic(path, serialize_safetensors(tf));
}

}  // namespace xbarkit::nn
