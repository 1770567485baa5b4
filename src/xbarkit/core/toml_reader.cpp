#include "xbarkit/core/toml_reader.hpp"

#include <cmath>

#include <fmt/format.h>

#include "xbarkit/core/file_io.hpp"

namespace xbarkit {

TomlSection::TomlSection(const toml::table* table, std::string file, std::string prefix)
    : table_(table), file_(std::move(file)), prefix_(std::move(prefix)),
      read_(std::make_shared<std::set<std::string>>()) {}

std::string TomlSection::path_of(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

InputError TomlSection::error(std::string_view key, const std::string& problem) const {
  return InputError(file_, path_of(key), problem);
}

bool TomlSection::has(std::string_view key) const { return table_ && table_->contains(key); }

std::vector<std::string> TomlSection::keys() const {
  std::vector<std::string> out;
  if (table_)
    for (const auto& [k, v] : *table_) out.emplace_back(k.str());
  return out;
}

const toml::node* TomlSection::node(std::string_view key) const {
  if (!table_) return nullptr;
  read_->insert(std::string(key));
  return table_->get(key);
}

static const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    default: return "a date/time";
  }
}

std::optional<double> TomlSection::number(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  if (auto v = n->value_exact<double>()) {
    // TOML allows inf and nan (TOML 1.0, "Float"); no xbarkit quantity is meaningful there, and they
    // would travel silently into solvers and tables.
    if (!std::isfinite(*v)) throw error(key, fmt::format("must be a finite number, got {}", *v));
    return *v;
  }
  if (auto v = n->value_exact<int64_t>()) return static_cast<double>(*v);
  throw error(key, fmt::format("expected a number, got {}", type_name(*n)));
}

std::optional<int64_t> TomlSection::integer(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  if (auto v = n->value_exact<int64_t>()) return *v;
  throw error(key, fmt::format("expected an integer, got {}", type_name(*n)));
}

int64_t TomlSection::integer_in(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
  const int64_t v = integer(key).value_or(fallback);
  if (v < lo || v > hi) throw error(key, fmt::format("{} is outside the allowed range [{}, {}]", v, lo, hi));
  return v;
}

std::optional<std::string> TomlSection::string(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  if (auto v = n->value_exact<std::string>()) return *v;
  throw error(key, fmt::format("expected a string, got {}", type_name(*n)));
}

std::optional<bool> TomlSection::boolean(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  if (auto v = n->value_exact<bool>()) return *v;
  throw error(key, fmt::format("expected true or false, got {}", type_name(*n)));
}

std::optional<std::vector<double>> TomlSection::number_array(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  const auto* arr = n->as_array();
  if (!arr) throw error(key, fmt::format("expected an array of numbers, got {}", type_name(*n)));
  std::vector<double> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const auto& e = *arr->get(i);
    if (auto v = e.value_exact<double>()) {
      if (!std::isfinite(*v)) throw error(key, fmt::format("element {} must be a finite number, got {}", i, *v));
      out.push_back(*v);
    } else if (auto w = e.value_exact<int64_t>()) out.push_back(static_cast<double>(*w));
    else throw error(key, fmt::format("element {} is {}, expected a number", i, type_name(e)));
  }
  return out;
}

std::optional<std::vector<std::string>> TomlSection::string_array(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  if (auto v = n->value_exact<std::string>()) return std::vector<std::string>{*v};
  const auto* arr = n->as_array();
  if (!arr) throw error(key, fmt::format("expected an array of strings, got {}", type_name(*n)));
  std::vector<std::string> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const auto& e = *arr->get(i);
    if (auto v = e.value_exact<std::string>()) out.push_back(*v);
    else throw error(key, fmt::format("element {} is {}, expected a string", i, type_name(e)));
  }
  return out;
}

std::optional<TomlSection> TomlSection::table(std::string_view key) const {
  const auto* n = node(key);
  if (!n) return std::nullopt;
  const auto* t = n->as_table();
  if (!t) throw error(key, fmt::format("expected a table, got {}", type_name(*n)));
  return TomlSection(t, file_, path_of(key));
}

double TomlSection::require_number(std::string_view key) const {
  if (auto v = number(key)) return *v;
  throw error(key, "missing required key");
}
int64_t TomlSection::require_integer(std::string_view key) const {
  if (auto v = integer(key)) return *v;
  throw error(key, "missing required key");
}
std::string TomlSection::require_string(std::string_view key) const {
  if (auto v = string(key)) return *v;
  throw error(key, "missing required key");
}
TomlSection TomlSection::require_table(std::string_view key) const {
  if (auto v = table(key)) return *v;
  throw error(key, "missing required table");
}

void TomlSection::reject_unknown_keys() const {
  if (!table_) return;
  for (const auto& [k, v] : *table_) {
    if (!read_->count(std::string(k.str()))) {
      throw error(k.str(), "unknown key (check the spelling; see the documented recipe keys)");
    }
  }
}

TomlDocument TomlDocument::from_string(const std::string& text, const std::string& source_name) {
  TomlDocument doc;
  doc.file_ = source_name;
  try {
    doc.table_ = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw InputError(source_name, "",
                     fmt::format("TOML syntax error at line {}, column {}: {}", where.line, where.column,
                                 e.description()));
  }
  return doc;
}

TomlDocument TomlDocument::from_file(const std::filesystem::path& path) {
  return from_string(read_text_file(path), path.string());
}

}  // namespace xbarkit
