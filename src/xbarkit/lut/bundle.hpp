#pragma once
// LUT bundles: a directory a behavioural simulator can trust.
//
//   BUNDLE/lut.json        schema name and version, kind, provenance (recipe text and SHA-256, model
//                          files and their SHA-256, xbarkit version, seeds, engine, date), every
//                          table's axes, units and file with its SHA-256, fits with their residuals,
//                          failed sweep points with their errors, kind-specific info and validation
//   BUNDLE/tables/*.csv    one CSV per table, one row per grid node (see table.hpp)
//   BUNDLE/<other files>   e.g. recipe.toml and journal.jsonl (the raw samples), each hashed
//
// write_bundle is atomic: everything goes to a temporary sibling directory that then replaces
// BUNDLE in one rename (renameat2 RENAME_EXCHANGE when BUNDLE exists), so a reader sees either the
// old bundle or the new one. load_bundle refuses a schema version from the future and any file whose
// SHA-256 differs from lut.json's.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "xbarkit/lut/fit.hpp"
#include "xbarkit/lut/table.hpp"

namespace xbarkit::lut {

constexpr int kSchemaVersion = 1;
constexpr const char* kSchemaName = "xbarkit-lut";

struct NamedFit {
  std::string name;
  Fit fit;
  nlohmann::json attributes = nlohmann::json::object();
};

struct Failure {
  std::string point;   // the sweep point's id
  std::string error;   // what went wrong, as the engine reported it
};

struct ExtraFile {
  std::string name;     // relative path inside the bundle (no "..", not lut.json)
  std::string content;
};

struct Bundle {
  std::string kind;                                        // "array_ps", "adc", "mtj_psw", "cell_iv", ...
  nlohmann::json provenance = nlohmann::json::object();
  std::vector<Table> tables;
  std::vector<NamedFit> fits;
  std::vector<Failure> failures;
  nlohmann::json info = nlohmann::json::object();          // kind-specific description
  nlohmann::json validation = nlohmann::json::object();    // built-in evidence (e.g. array_ps held-out check)
  std::vector<ExtraFile> files;
  std::filesystem::path dir;                               // where it was loaded from

  bool has_table(std::string_view name) const;
  const Table& table(std::string_view name) const;         // throws naming the known tables
  const NamedFit* find_fit(std::string_view name) const;
  const Fit& fit(std::string_view name) const;             // throws if unknown
  const ExtraFile* find_file(std::string_view name) const;
};

// The lut.json document of a bundle (hashes computed from the tables and files).
nlohmann::json bundle_manifest(const Bundle& bundle);

// Writes the bundle atomically to `dir` (replacing an existing directory there).
void write_bundle(const std::filesystem::path& dir, const Bundle& bundle);

// Reads and verifies a bundle. Throws InputError naming the file and the problem: not a bundle,
// schema from the future, missing file, SHA-256 mismatch, malformed table.
Bundle load_bundle(const std::filesystem::path& dir);

// Replaces `dir` by the directory `staged` atomically (exchange + remove old), or renames if `dir`
// does not exist. Used by write_bundle; exposed for other writers of directory artefacts.
void replace_directory(const std::filesystem::path& staged, const std::filesystem::path& dir);

// A fresh temporary directory next to `dir` (same filesystem, so the final rename is atomic).
std::filesystem::path make_staging_dir(const std::filesystem::path& dir);

}  // namespace xbarkit::lut
