#include "backup.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

#include <sys/stat.h>

#include "ates/protocol/registry.hpp"
#include "ates/protocol/time.hpp"
#include "ates/storage/lock_file.hpp"

namespace ates::server {

namespace fs = std::filesystem;
using base::Code;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kMailDir = "mail";

Status io_error(const std::string& what) {
  return Status(Code::kInternal, what + ": " + std::strerror(errno));
}

// Every stream a checkpoint may name: those produced here and the registry's.
std::vector<std::string> known_streams(const std::vector<BackupSource>& sources) {
  std::set<std::string> names;
  for (const auto& source : sources) {
    for (const auto& head : source.env->heads()) names.insert(head.stream);
  }
  for (const auto& spec : protocol::Registry::instance().streams()) names.insert(std::string(spec.name));
  return {names.begin(), names.end()};
}

// A name from a manifest used as a folder: one plain path segment, so a
// hostile manifest cannot point a restore outside its target.
bool plain_name(std::string_view name) {
  return !name.empty() && name.size() <= 64 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
         });
}

Status make_private_dir(const fs::path& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return Status(Code::kInternal, "cannot create " + dir.string() + ": " + error.message());
  if (::chmod(dir.c_str(), 0700) != 0) return io_error("cannot make " + dir.string() + " private");
  return Status::ok();
}

Status fsync_path(const fs::path& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open " + path.string());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error("cannot sync " + path.string());
  return Status::ok();
}

// A regular file copied with mode 0600 and synced.
Status copy_private(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::copy_file(from, to, fs::copy_options::none, error);
  if (error) return Status(Code::kInternal, "cannot copy " + from.string() + ": " + error.message());
  if (::chmod(to.c_str(), 0600) != 0) return io_error("cannot make " + to.string() + " private");
  return fsync_path(to, false);
}

struct Digest {
  std::uint64_t bytes = 0;
  std::string sha256;
};

Result<Digest> digest_of(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status(Code::kNotFound, "cannot read " + file.string());
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::vector<char> buffer(std::size_t{1} << 20);
  Digest digest;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()), got);
    digest.bytes += got;
  }
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&state, hash);
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  digest.sha256 = hex;
  return digest;
}

// Opens a copied environment read-only, and takes the lock file LMDB makes
// beside it away again when done.
struct OpenedCopy {
  std::unique_ptr<storage::Environment> env;
  fs::path lock_file;
  bool remove_lock = false;
  ~OpenedCopy() {
    env.reset();
    std::error_code ignored;
    if (remove_lock) fs::remove(lock_file, ignored);
  }
};

Result<std::unique_ptr<OpenedCopy>> open_copy(const fs::path& dir, const std::string& name) {
  auto copy = std::make_unique<OpenedCopy>();
  copy->lock_file = dir / "lock.mdb";
  copy->remove_lock = !fs::exists(copy->lock_file);
  auto env = storage::Environment::open({.dir = dir, .producer = name, .read_only = true});
  if (!env) return env.status();
  copy->env = std::move(env).value();
  return copy;
}

// What a copied environment holds of the streams: its heads and its
// checkpoints, as the manifest records them.
nlohmann::json describe(const storage::Environment& env, const std::vector<std::string>& streams) {
  nlohmann::json heads = nlohmann::json::array();
  for (const auto& head : env.heads()) {
    heads.push_back({{"stream", head.stream}, {"epoch", head.epoch}, {"head_seq", head.head_seq}});
  }
  nlohmann::json checkpoints = nlohmann::json::array();
  storage::ReadTxn txn = env.read();
  for (const auto& stream : streams) {
    if (auto checkpoint = env.checkpoint(txn, stream)) {
      checkpoints.push_back(
          {{"stream", stream}, {"epoch", checkpoint->epoch}, {"applied_seq", checkpoint->applied_seq}});
    }
  }
  return {{"streams", heads}, {"checkpoints", checkpoints}};
}

// Checkpoints above their producer's head, or of another epoch, in one
// set of described environments.
void check_consistency(const nlohmann::json& described, std::vector<std::string>& problems) {
  std::map<std::string, std::pair<std::string, std::uint64_t>> heads;  // stream -> epoch, head
  for (const auto& env : described) {
    for (const auto& head : env["streams"]) {
      heads[head["stream"].get<std::string>()] = {head["epoch"].get<std::string>(),
                                                  head["head_seq"].get<std::uint64_t>()};
    }
  }
  for (const auto& env : described) {
    for (const auto& checkpoint : env["checkpoints"]) {
      const std::string stream = checkpoint["stream"];
      const auto head = heads.find(stream);
      if (head == heads.end()) continue;  // produced on another host
      const std::string epoch = checkpoint["epoch"];
      const auto applied = checkpoint["applied_seq"].get<std::uint64_t>();
      const std::string where = env["name"].get<std::string>() + "'s checkpoint of " + stream;
      if (!epoch.empty() && epoch != head->second.first) {
        problems.push_back(where + " is of epoch " + epoch + ", the stream's is " + head->second.first);
      } else if (applied > head->second.second) {
        problems.push_back(where + " is at " + std::to_string(applied) + ", above the stream's head " +
                           std::to_string(head->second.second));
      }
    }
  }
}

}  // namespace

Result<std::vector<std::string>> copy_order(const std::vector<BackupSource>& sources) {
  std::map<std::string, std::string> producer_of;
  for (const auto& source : sources) {
    for (const auto& head : source.env->heads()) producer_of[head.stream] = source.name;
  }
  const auto streams = known_streams(sources);
  std::map<std::string, std::set<std::string>> consumers_of;  // name -> the names copied before it
  for (const auto& source : sources) {
    consumers_of[source.name];
    storage::ReadTxn txn = source.env->read();
    for (const auto& stream : streams) {
      const auto producer = producer_of.find(stream);
      if (producer == producer_of.end() || producer->second == source.name) continue;
      if (source.env->checkpoint(txn, stream)) consumers_of[producer->second].insert(source.name);
    }
  }
  std::vector<std::string> order;
  std::set<std::string> copied;
  while (order.size() < consumers_of.size()) {
    bool progressed = false;
    for (const auto& [name, before] : consumers_of) {
      if (copied.contains(name)) continue;
      if (!std::all_of(before.begin(), before.end(),
                       [&](const std::string& c) { return copied.contains(c); }))
        continue;
      order.push_back(name);
      copied.insert(name);
      progressed = true;
      break;  // restart in name order: ties go to the first name
    }
    if (!progressed) {
      std::string cycle;
      for (const auto& [name, before] : consumers_of) {
        if (!copied.contains(name)) cycle += (cycle.empty() ? "" : ", ") + name;
      }
      return Status(Code::kConflict,
                    "the environments " + cycle +
                        " consume each other's streams: no copy order keeps every checkpoint at or below its "
                        "producer's head");
    }
  }
  return order;
}

Result<nlohmann::json> write_backup(const std::vector<BackupSource>& sources, const fs::path& data_dir,
                                    const fs::path& dest, std::int64_t now_us) {
  if (fs::exists(dest)) return Status(Code::kConflict, dest.string() + " exists; a backup needs a new path");
  auto order = copy_order(sources);
  if (!order) return order.status();
  const fs::path parent = dest.has_parent_path() ? dest.parent_path() : fs::path(".");
  std::error_code error;
  fs::create_directories(parent, error);
  if (error) return Status(Code::kInternal, "cannot create " + parent.string() + ": " + error.message());
  // A partial copy from a backup cut short before is of no use.
  const fs::path temp = parent / ("." + dest.filename().string() + ".partial");
  fs::remove_all(temp, error);
  if (Status s = make_private_dir(temp); !s) return s;

  for (const auto& name : *order) {
    const auto source =
        std::find_if(sources.begin(), sources.end(), [&](const BackupSource& s) { return s.name == name; });
    if (Status s = make_private_dir(temp / name); !s) return s;
    if (Status s = source->env->copy_to(temp / name); !s) return s;
  }
  nlohmann::json files = nlohmann::json::array();
  if (fs::is_directory(data_dir / kMailDir)) {
    if (Status s = make_private_dir(temp / kMailDir); !s) return s;
    std::vector<fs::path> mail;
    for (const auto& entry : fs::directory_iterator(data_dir / kMailDir, error)) {
      const std::string file = entry.path().filename().string();
      // Dot files are receipts still being written.
      if (entry.is_regular_file() && !file.starts_with(".")) mail.push_back(entry.path());
    }
    std::sort(mail.begin(), mail.end());
    for (const auto& path : mail) {
      const fs::path relative = fs::path(kMailDir) / path.filename();
      if (Status s = copy_private(path, temp / relative); !s) return s;
      auto digest = digest_of(temp / relative);
      if (!digest) return digest.status();
      files.push_back({{"path", relative.string()}, {"bytes", digest->bytes}, {"sha256", digest->sha256}});
    }
  }

  const auto streams = known_streams(sources);
  nlohmann::json environments = nlohmann::json::array();
  for (const auto& name : *order) {
    nlohmann::json described;
    {
      auto copy = open_copy(temp / name, name);
      if (!copy) return copy.status();
      described = describe(*(*copy)->env, streams);
    }
    const fs::path file = fs::path(name) / "data.mdb";
    if (Status s = fsync_path(temp / file, false); !s) return s;
    auto digest = digest_of(temp / file);
    if (!digest) return digest.status();
    described["name"] = name;
    described["file"] = file.string();
    described["bytes"] = digest->bytes;
    described["sha256"] = digest->sha256;
    environments.push_back(std::move(described));
  }
  std::vector<std::string> problems;
  check_consistency(environments, problems);
  if (!problems.empty()) return Status(Code::kInternal, "the copy is inconsistent: " + problems.front());

  const nlohmann::json manifest = {
      {"format", kBackupFormat},      {"created_at", protocol::format_utc(now_us)},
      {"created_at_us", now_us},      {"order", *order},
      {"environments", environments}, {"files", files}};
  {
    std::ofstream out(temp / kManifestFile);
    out << manifest.dump(2) << "\n";
    if (!out.flush()) return io_error("cannot write the manifest");
  }
  if (::chmod((temp / kManifestFile).c_str(), 0600) != 0) return io_error("cannot make the manifest private");
  if (Status s = fsync_path(temp / kManifestFile, false); !s) return s;
  for (const auto& name : *order) {
    if (Status s = fsync_path(temp / name, true); !s) return s;
  }
  if (Status s = fsync_path(temp, true); !s) return s;
  fs::rename(temp, dest, error);
  if (error) return Status(Code::kInternal, "cannot rename the backup into place: " + error.message());
  if (Status s = fsync_path(parent, true); !s) return s;
  return manifest;
}

nlohmann::json verify_backup(const fs::path& backup) {
  std::vector<std::string> problems;
  nlohmann::json manifest;
  const auto report = [&] {
    return nlohmann::json{{"ok", problems.empty()}, {"problems", problems}, {"manifest", manifest}};
  };
  {
    std::ifstream in(backup / kManifestFile);
    if (!in) {
      problems.push_back("no " + std::string(kManifestFile) + " in " + backup.string());
      return report();
    }
    manifest = nlohmann::json::parse(in, nullptr, false);
  }
  if (!manifest.is_object() || !manifest.value("environments", nlohmann::json()).is_array() ||
      !manifest.value("files", nlohmann::json()).is_array() ||
      !manifest.value("format", nlohmann::json()).is_number_integer()) {
    manifest = nullptr;
    problems.push_back("the manifest is not a backup's manifest");
    return report();
  }
  if (manifest["format"].get<int>() > kBackupFormat) {
    problems.push_back("the backup's format " + manifest["format"].dump() +
                       " is newer than this ates reads (" + std::to_string(kBackupFormat) + ")");
    return report();
  }
  const auto check_file = [&](const std::string& relative, const nlohmann::json& entry) {
    auto digest = digest_of(backup / relative);
    if (!digest) {
      problems.push_back(relative + " is missing");
    } else if (digest->bytes != entry.value("bytes", std::uint64_t{0}) ||
               digest->sha256 != entry.value("sha256", std::string())) {
      problems.push_back(relative + " differs from the manifest (size or SHA-256)");
    }
  };
  std::vector<std::string> names;
  for (const auto& env : manifest["environments"]) {
    const std::string name = env.is_object() ? env.value("name", std::string()) : std::string();
    if (!plain_name(name) || name == kMailDir) {
      problems.push_back("the manifest names an environment '" + name + "' that is not a plain folder name");
      continue;
    }
    names.push_back(name);
    check_file(name + "/data.mdb", env);
  }
  for (const auto& file : manifest["files"]) {
    const std::string path = file.is_object() ? file.value("path", std::string()) : std::string();
    const fs::path relative(path);
    if (relative.parent_path() != kMailDir || !plain_name(relative.filename().string())) {
      problems.push_back("the manifest names a file '" + path + "' outside mail/");
      continue;
    }
    check_file(path, file);
  }
  if (!problems.empty()) return report();

  // The copies themselves, not the manifest's account of them.
  std::vector<BackupSource> sources;
  std::vector<std::unique_ptr<OpenedCopy>> copies;
  for (const auto& name : names) {
    auto copy = open_copy(backup / name, name);
    if (!copy) {
      problems.push_back(name + ": " + copy.status().message());
      continue;
    }
    sources.push_back({name, (*copy)->env.get()});
    copies.push_back(std::move(copy).value());
  }
  const auto streams = known_streams(sources);
  nlohmann::json described = nlohmann::json::array();
  for (const auto& source : sources) {
    nlohmann::json one = describe(*source.env, streams);
    one["name"] = source.name;
    described.push_back(std::move(one));
  }
  check_consistency(described, problems);
  return report();
}

Status restore_backup(const fs::path& backup, const fs::path& data_dir) {
  const nlohmann::json verified = verify_backup(backup);
  if (!verified["ok"].get<bool>()) {
    return Status(Code::kConflict,
                  "the backup does not verify: " + verified["problems"][0].get<std::string>());
  }
  std::error_code error;
  if (fs::exists(data_dir) && !fs::is_empty(data_dir, error)) {
    return Status(Code::kConflict, data_dir.string() +
                                       " is not empty; a restore goes to a new or empty data "
                                       "directory (stop the server and move the old one aside)");
  }
  // Held while the files go in, so no server starts on half a restore.
  auto lock = storage::DataDirLock::acquire(data_dir);
  if (!lock) return lock.status();
  const nlohmann::json& manifest = verified["manifest"];
  for (const auto& env : manifest["environments"]) {
    const std::string name = env["name"];
    if (Status s = make_private_dir(data_dir / name); !s) return s;
    if (Status s = copy_private(backup / name / "data.mdb", data_dir / name / "data.mdb"); !s) return s;
    if (Status s = fsync_path(data_dir / name, true); !s) return s;
  }
  for (const auto& file : manifest["files"]) {
    const fs::path relative(file["path"].get<std::string>());
    if (Status s = make_private_dir(data_dir / relative.parent_path()); !s) return s;
    if (Status s = copy_private(backup / relative, data_dir / relative); !s) return s;
  }
  return fsync_path(data_dir, true);
}

}  // namespace ates::server
