#pragma once
// safetensors (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N,
// N bytes of JSON {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
// "__metadata__": {"key": "string"}}, then the raw little-endian tensor bytes. This is what
// `safetensors.torch.save_file(state_dict, path)` writes.
//
// xbarkit reads F32 and F64 tensors (converted to float) and writes F32. Every structural problem
// (short file, header length beyond the file, malformed JSON, unknown dtype, offsets that do not match
// the shape, overlapping or out-of-range data) is an InputError naming the file and the tensor.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace xbarkit::nn {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major (C order), like torch.Tensor.contiguous()
  size_t numel() const;
};

struct TensorFile {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__" (string values only, per the spec)
};

TensorFile read_safetensors(const std::filesystem::path& path);
TensorFile parse_safetensors(const std::string& bytes, const std::string& file);
std::string serialize_safetensors(const TensorFile& tf);
// Atomic write (temporary file + rename).
void write_safetensors(const std::filesystem::path& path, const TensorFile& tf);

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace xbarkit::nn
