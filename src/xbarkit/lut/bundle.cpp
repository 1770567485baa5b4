#include "xbarkit/lut/bundle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "xbarkit/core/error.hpp"
#include "xbarkit/core/file_io.hpp"

namespace xbarkit::lut {

namespace fs = std::filesystem;

bool Bundle::has_table(std::string_view name) const {
  for (const auto& t : tables)
    if (t.name() == name) return true;
  return false;
}

const Table& Bundle::table(std::string_view name) const {
  for (const auto& t : tables)
    if (t.name() == name) return t;
  std::string known;
  for (const auto& t : tables) known += (known.empty() ? "" : ", ") + t.name();
  throw Error(fmt::format("bundle {} has no table '{}' (tables: {})", dir.string(), name, known.empty() ? "none" : known));
}

const NamedFit* Bundle::find_fit(std::string_view name) const {
  for (const auto& f : fits)
    if (f.name == name) return &f;
  return nullptr;
}

const Fit& Bundle::fit(std::string_view name) const {
  if (const auto* f = find_fit(name)) return f->fit;
  throw Error(fmt::format("bundle {} has no fit '{}'", dir.string(), name));
}

const ExtraFile* Bundle::find_file(std::string_view name) const {
  for (const auto& f : files)
    if (f.name == name) return &f;
  return nullptr;
}

namespace {

bool safe_relative(const std::string& name) {
  if (name.empty() || name == "lut.json") return false;
  const fs::path p(name);
  if (p.is_absolute()) return false;
  for (const auto& part : p)
    if (part == ".." || part == ".") return false;
  return true;
}

std::string table_file(const Table& t) { return "tables/" + t.name() + ".csv"; }

void check_table_name(const std::string& name) {
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      throw Error(fmt::format("table name '{}' may only contain letters, digits, '_', '-' and '.'", name));
}

// SHA-256 of lut.json's own content: the compact dump (object keys sorted, shortest round-trip
// numbers, so parse + dump reproduces it) of the manifest without this key. Evidence, kind, axes
// and hashes in lut.json are covered, so editing any of them is caught like an edited table.
std::string manifest_digest(nlohmann::json j) {
  j.erase("manifest_sha256");
  return sha256_hex(j.dump());
}

// Values a table of a valid bundle cannot hold: infinities; NaN beyond the empty nodes recorded at
// write time; negative standard deviations; probabilities outside [0, 1].
void check_table_values(const Table& t, size_t nan_expected, const std::string& file) {
  size_t nan_values = 0;
  const auto& cols = t.columns();
  for (size_t n = 0; n < t.node_count(); ++n)
    for (size_t c = 0; c < cols.size(); ++c) {
      const double v = t.value(n, c);
      const auto where = [&] { return fmt::format("node {} column {}", n, cols[c].name); };
      if (std::isnan(v)) {
        ++nan_values;
        continue;
      }
      if (!std::isfinite(v)) throw InputError(file, where(), fmt::format("is {}; table values must be finite", v));
      const auto& name = cols[c].name;
      if ((name.rfind("std", 0) == 0 || name == "stderr") && v < 0)
        throw InputError(file, where(), fmt::format("is {}; a standard deviation cannot be negative", v));
      if ((name == "p_switch" || name.rfind("coverage", 0) == 0) && (v < 0 || v > 1))
        throw InputError(file, where(), fmt::format("is {}; a probability must be in [0, 1]", v));
    }
  if (nan_values != nan_expected)
    throw InputError(file, "", fmt::format("holds {} NaN (empty) values, but lut.json records {}; the table was "
                                           "edited after the bundle was written: regenerate the bundle",
                                           nan_values, nan_expected));
}

nlohmann::json axis_json(const Axis& a) { return {{"name", a.name}, {"unit", a.unit}, {"points", a.points}}; }

}  // namespace

nlohmann::json bundle_manifest(const Bundle& b) {
  nlohmann::json j;
  j["schema"] = kSchemaName;
  j["schema_version"] = kSchemaVersion;
  j["kind"] = b.kind;
  j["provenance"] = b.provenance;
  j["tables"] = nlohmann::json::array();
  std::set<std::string> names;
  for (const auto& t : b.tables) {
    check_table_name(t.name());
    if (!names.insert(t.name()).second) throw Error(fmt::format("bundle has two tables named '{}'", t.name()));
    nlohmann::json tj;
    tj["name"] = t.name();
    tj["file"] = table_file(t);
    tj["sha256"] = sha256_hex(t.to_csv());
    tj["axes"] = nlohmann::json::array();
    for (const auto& a : t.axes()) tj["axes"].push_back(axis_json(a));
    tj["columns"] = nlohmann::json::array();
    for (const auto& c : t.columns()) tj["columns"].push_back({{"name", c.name}, {"unit", c.unit}});
    size_t nan_values = 0;
    for (double v : t.data()) {
      if (std::isnan(v)) ++nan_values;
      else if (!std::isfinite(v)) throw Error(fmt::format("table '{}' holds an infinite value", t.name()));
    }
    tj["nan_values"] = nan_values;  // empty nodes (no samples, failed points); checked on load
    tj["interpolation"] = to_string(t.preferred_interp);
    tj["attributes"] = t.attributes;
    j["tables"].push_back(tj);
  }
  j["fits"] = nlohmann::json::array();
  for (const auto& f : b.fits) {
    auto fj = f.fit.to_json();
    fj["name"] = f.name;
    fj["attributes"] = f.attributes;
    j["fits"].push_back(fj);
  }
  j["failures"] = nlohmann::json::array();
  for (const auto& f : b.failures) j["failures"].push_back({{"point", f.point}, {"error", f.error}});
  j["files"] = nlohmann::json::array();
  for (const auto& f : b.files) {
    if (!safe_relative(f.name)) throw Error(fmt::format("bundle file name '{}' is not a plain relative path", f.name));
    j["files"].push_back({{"file", f.name}, {"sha256", sha256_hex(f.content)}});
  }
  j["info"] = b.info;
  j["validation"] = b.validation;
  j["manifest_sha256"] = manifest_digest(j);
  return j;
}

fs::path make_staging_dir(const fs::path& dir) {
  const fs::path target = fs::absolute(dir).lexically_normal();
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  fs::create_directories(parent);
  std::string tmpl = (parent / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw Error(fmt::format("{}: cannot create a temporary directory beside it ({})", dir.string(), std::strerror(errno)));
  ::chmod(tmpl.c_str(), 0755);  // mkdtemp makes it private; a bundle is meant to be shared
  return tmpl;
}

void replace_directory(const fs::path& staged, const fs::path& dir) {
  if (fs::exists(dir)) {
    if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0)
      throw Error(fmt::format("{}: cannot swap in the new bundle ({})", dir.string(), std::strerror(errno)));
    std::error_code ec;
    fs::remove_all(staged, ec);  // now holds the old content
  } else if (::rename(staged.c_str(), dir.c_str()) != 0) {
    throw Error(fmt::format("{}: cannot move the new bundle into place ({})", dir.string(), std::strerror(errno)));
  }
}

void write_bundle(const fs::path& dir, const Bundle& b) {
  const auto manifest = bundle_manifest(b);  // validates names before anything touches the disk
  const fs::path staged = make_staging_dir(dir);
  try {
    fs::create_directories(staged / "tables");
    for (const auto& t : b.tables) write_file_atomic(staged / table_file(t), t.to_csv());
    for (const auto& f : b.files) {
      const fs::path p = staged / f.name;
      fs::create_directories(p.parent_path());
      write_file_atomic(p, f.content);
    }
    write_file_atomic(staged / "lut.json", manifest.dump(2) + "\n");
    replace_directory(staged, dir);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staged, ec);
    throw;
  }
}

Bundle load_bundle(const fs::path& dir) {
  const std::string d = dir.string();
  if (!fs::is_directory(dir)) throw InputError(d, "", "not a directory (a LUT bundle is a directory with lut.json)");
  const fs::path manifest_path = dir / "lut.json";
  if (!fs::exists(manifest_path)) {
    if (fs::exists(dir / "journal.jsonl"))
      throw InputError(d, "", "no lut.json: the characterization that writes this bundle did not finish; "
                              "rerun it with --resume");
    throw InputError(d, "", "not a LUT bundle (no lut.json)");
  }
  const std::string mfile = manifest_path.string();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(manifest_path));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(mfile, "", fmt::format("not valid JSON ({})", e.what()));
  }
  try {
    if (!j.is_object() || j.value("schema", "") != kSchemaName)
      throw InputError(mfile, "schema", fmt::format("is not \"{}\"; not an xbarkit LUT bundle", kSchemaName));
    if (!j.contains("schema_version") || !j["schema_version"].is_number_integer())
      throw InputError(mfile, "schema_version", "missing or not an integer");
    const int version = j["schema_version"].get<int>();
    if (version > kSchemaVersion)
      throw InputError(mfile, "schema_version",
                       fmt::format("is {}, written by a newer xbarkit; this build reads schema versions up to {}. "
                                   "Upgrade xbarkit or regenerate the bundle",
                                   version, kSchemaVersion));
    if (version < 1) throw InputError(mfile, "schema_version", fmt::format("{} is not a valid version", version));
    if (!j.contains("manifest_sha256") || !j["manifest_sha256"].is_string())
      throw InputError(mfile, "manifest_sha256",
                       "missing: lut.json carries no digest of its own content (written by an older xbarkit, or "
                       "edited); regenerate the bundle");
    if (const auto digest = manifest_digest(j); digest != j["manifest_sha256"].get<std::string>())
      throw InputError(mfile, "manifest_sha256",
                       fmt::format("mismatch: lut.json records {}, its content has {}. lut.json was edited after the "
                                   "bundle was written (evidence, kind, axes or hashes); regenerate the bundle",
                                   j["manifest_sha256"].get<std::string>(), digest));

    Bundle b;
    b.dir = dir;
    b.kind = j.at("kind").get<std::string>();
    b.provenance = j.value("provenance", nlohmann::json::object());
    b.info = j.value("info", nlohmann::json::object());
    b.validation = j.value("validation", nlohmann::json::object());
    auto verified = [&](const std::string& rel, const std::string& sha, const std::string& key) {
      if (!safe_relative(rel)) throw InputError(mfile, key, fmt::format("file name '{}' is not a plain relative path", rel));
      const fs::path p = dir / rel;
      if (!fs::exists(p)) throw InputError(p.string(), "", fmt::format("missing (listed in {})", mfile));
      std::string content = read_text_file(p);
      const std::string actual = sha256_hex(content);
      if (actual != sha)
        throw InputError(p.string(), "",
                         fmt::format("SHA-256 mismatch: lut.json records {}, the file has {}. The file changed after "
                                     "the bundle was written; regenerate the bundle",
                                     sha, actual));
      return content;
    };
    const auto& tables = j.at("tables");
    for (size_t ti = 0; ti < tables.size(); ++ti) {
      const auto& tj = tables[ti];
      const std::string key = fmt::format("tables[{}]", ti);
      std::vector<Axis> axes;
      for (const auto& a : tj.at("axes"))
        axes.push_back({a.at("name").get<std::string>(), a.at("unit").get<std::string>(),
                        a.at("points").get<std::vector<double>>()});
      std::vector<Column> cols;
      for (const auto& c : tj.at("columns")) cols.push_back({c.at("name").get<std::string>(), c.at("unit").get<std::string>()});
      Table t;
      try {
        t = Table(tj.at("name").get<std::string>(), std::move(axes), std::move(cols));
      } catch (const InputError&) {
        throw;
      } catch (const Error& e) {
        throw InputError(mfile, key, e.what());
      }
      const auto rel = tj.at("file").get<std::string>();
      const auto content = verified(rel, tj.at("sha256").get<std::string>(), key + ".file");
      t.read_csv(content, (dir / rel).string());
      check_table_values(t, tj.at("nan_values").get<size_t>(), (dir / rel).string());
      t.preferred_interp = parse_interp(tj.value("interpolation", "linear"));
      t.attributes = tj.value("attributes", nlohmann::json::object());
      b.tables.push_back(std::move(t));
    }
    for (const auto& fj : j.value("fits", nlohmann::json::array())) {
      NamedFit nf;
      nf.name = fj.at("name").get<std::string>();
      nf.fit = Fit::from_json(fj);
      nf.attributes = fj.value("attributes", nlohmann::json::object());
      b.fits.push_back(std::move(nf));
    }
    for (const auto& fj : j.value("failures", nlohmann::json::array()))
      b.failures.push_back({fj.at("point").get<std::string>(), fj.at("error").get<std::string>()});
    const auto& files = j.value("files", nlohmann::json::array());
    for (size_t fi = 0; fi < files.size(); ++fi) {
      const auto rel = files[fi].at("file").get<std::string>();
      b.files.push_back({rel, verified(rel, files[fi].at("sha256").get<std::string>(), fmt::format("files[{}]", fi))});
    }
    return b;
  } catch (const nlohmann::json::exception& e) {
    throw InputError(mfile, "", fmt::format("malformed lut.json ({})", e.what()));
  } catch (const InputError&) {
    throw;
  } catch (const Error& e) {
    throw InputError(mfile, "", e.what());
  }
}

}  // namespace xbarkit::lut
