#pragma once
// Strict TOML reading for recipes and model files: typed getters that name the file and the dotted
// key in every error, and a check that rejects keys nobody read (typos must not pass silently).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "xbarkit/core/error.hpp"

namespace xbarkit {

class TomlSection {
public:
  TomlSection(const toml::table* table, std::string file, std::string prefix);

  bool has(std::string_view key) const;
  std::vector<std::string> keys() const;

  // Getters mark the key as read. Numbers accept TOML integers and floats, never inf or nan.
  std::optional<double> number(std::string_view key) const;
  std::optional<int64_t> integer(std::string_view key) const;
  // The integer at `key` (or `fallback` when absent), refused unless lo <= value <= hi; use it before
  // narrowing to int/unsigned so 4294967297 never wraps to 1.
  int64_t integer_in(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const;
  std::optional<std::string> string(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  std::optional<std::vector<double>> number_array(std::string_view key) const;
  std::optional<std::vector<std::string>> string_array(std::string_view key) const;
  std::optional<TomlSection> table(std::string_view key) const;

  double require_number(std::string_view key) const;
  int64_t require_integer(std::string_view key) const;
  std::string require_string(std::string_view key) const;
  TomlSection require_table(std::string_view key) const;

  // Throws InputError naming the first key in this table that no getter read.
  void reject_unknown_keys() const;

  // An error about `key` of this section ("file: section.key: problem").
  InputError error(std::string_view key, const std::string& problem) const;
  const std::string& file() const { return file_; }
  std::string path_of(std::string_view key) const;
  const toml::table* raw() const { return table_; }

private:
  const toml::node* node(std::string_view key) const;
  const toml::table* table_;
  std::string file_;
  std::string prefix_;
  std::shared_ptr<std::set<std::string>> read_;
};

// A parsed TOML file that owns its tree. Parse errors carry the file, line and column.
class TomlDocument {
public:
  static TomlDocument from_file(const std::filesystem::path& path);
  static TomlDocument from_string(const std::string& text, const std::string& source_name);
  TomlSection root() const { return TomlSection(&table_, file_, ""); }
  const std::string& file() const { return file_; }

private:
  toml::table table_;
  std::string file_;
};

}  // namespace xbarkit
