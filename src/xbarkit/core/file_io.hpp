#pragma once
// File IO with the guarantees users rely on: reads name the file on failure, writes are atomic
// (a temporary file in the same directory, then rename), so nothing half-written is left behind.
#include <filesystem>
#include <string>
#include <string_view>

namespace xbarkit {

std::string read_text_file(const std::filesystem::path& path);

// Writes `content` to `path` atomically: temp file + fsync + rename(2).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

// Checks, before any work starts, that `path` can be written as an output file: its directory exists
// and is writable, and `path` is not a directory. Throws InputError naming `option` (e.g. "-o").
void check_output_file(const std::filesystem::path& path, const std::string& option);

// Hex SHA-256 of a byte string (provenance of recipes and model files).
std::string sha256_hex(std::string_view bytes);

}  // namespace xbarkit
