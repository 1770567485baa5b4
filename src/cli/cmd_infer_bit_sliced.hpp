#pragma once
// xbarkit infer --network NET (a real-valued network, format xbarkit-real-1) on binary-cell tiles:
// every weight layer bit-sliced onto sram8t / rram1t1r / ... columns with bit-serial inputs
// (imc/bit_sliced.hpp), sensed ideally or from an array_ps LUT and converted by the chosen converter.
// Its options are added to `infer`; cmd_infer.cpp hands over when the network is real-valued and the
// cell is not pcm.
#include <filesystem>
#include <string>

#include <CLI/CLI.hpp>

#include "xbarkit/imc/sim_options.hpp"

namespace xbarkit::cli {

struct BitSlicedInferOptions {
  int weight_bits = 8, input_bits = 8;  // 8 bits: the float accuracy of the shipped ResNet (docs/VALIDATION.md)
  std::string encoding = "twos-complement";
};

void add_bit_sliced_infer_options(CLI::App* cmd, BitSlicedInferOptions& o);

void run_bit_sliced_infer(const std::filesystem::path& network, const std::string& data_dir, size_t images,
                          unsigned threads, const imc::SimOptions& sim, bool json, const BitSlicedInferOptions& o);

}  // namespace xbarkit::cli
