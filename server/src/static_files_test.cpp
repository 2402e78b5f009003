// The UI's static files: the request-path resolver (every hostile spelling
// refused, ordinary names decoded), the loader (only regular files inside
// the folder; symlinks out, folders, FIFOs left out), and the answers
// (content types, nosniff, CSP, ETag and 304).
#include "static_files.hpp"

#include <unistd.h>

#include <fstream>

#include <boost/test/unit_test.hpp>
#include <sys/stat.h>

#include "ates/testing/temp_dir.hpp"

#include "ui_files.hpp"

namespace ates::server {
namespace {

namespace fs = std::filesystem;

void write_file(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string header(const plugin_api::Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

// A UI folder with a page, a script, a file in a subfolder, a hidden file,
// and, beside the folder, a secret that symlinks inside point to.
struct UiFolder {
  testing::TempDir temp{"ates-ui-test"};
  fs::path ui = temp / "ui";
  fs::path secret = temp / "secret.txt";

  UiFolder() {
    write_file(ui / "index.html", "<!doctype html><title>ates</title>");
    write_file(ui / "app.js", "console.log('ates');");
    write_file(ui / "sub" / "inner.css", "body { margin: 0; }");
    write_file(ui / ".hidden", "not for the web");
    write_file(secret, "the signing key");
  }
};

BOOST_AUTO_TEST_SUITE(static_path)

BOOST_AUTO_TEST_CASE(ordinary_names_resolve) {
  BOOST_TEST(resolve_static_path("/").file == "index.html");
  BOOST_TEST(resolve_static_path("/index.html").file == "index.html");
  BOOST_TEST(resolve_static_path("/ates_ui.wasm").file == "ates_ui.wasm");
  BOOST_TEST(resolve_static_path("/sub/inner.css").file == "sub/inner.css");
  BOOST_TEST(resolve_static_path("/a%20b.js").file == "a b.js");
  BOOST_TEST(resolve_static_path("/%41pp.js").file == "App.js");
  BOOST_TEST(resolve_static_path("/caf%C3%A9.txt").file == "caf\xC3\xA9.txt");
  BOOST_TEST(resolve_static_path("/a..b").file == "a..b");  // dots inside a name are not a traversal
}

BOOST_AUTO_TEST_CASE(hostile_spellings_are_refused) {
  const std::string long_path = "/" + std::string(kMaxStaticPathBytes, 'a');
  const std::string_view hostile[] = {
      "",
      "index.html",  // not starting with '/'
      "http://host/etc/passwd",
      "//etc/passwd",
      "///etc/passwd",
      "/sub//inner.css",
      "/sub/",
      "/.",
      "/..",
      "/../../etc/passwd",
      "/sub/../index.html",
      "/sub/./inner.css",
      "/.hidden",
      "/%2e%2e/%2e%2e/etc/passwd",
      "/%2E%2E%2Fsecret",
      "/%2e",
      "/app%2ejs",
      "/sub%2finner.css",
      "/sub%2Finner.css",
      "/..%5csecret",
      "/..%5Csecret",
      "/a\\..\\secret",
      "/a\\b",
      std::string_view("/\0", 2),
      std::string_view("/index.html\0.png", 16),
      "/%00",
      "/index.html%00.png",
      "/%0a",
      "/a%0d%0aSet-Cookie:x",
      "/a\tb",
      "/a\x7f",
      "/%7F",
      "/%",
      "/%2",
      "/%zz",
      "/%g0",
      "/%252e%252e/secret",  // a second decoding elsewhere must find nothing to decode
      "/%25",
      long_path,
  };
  for (const std::string_view path : hostile) {
    const StaticPath resolved = resolve_static_path(path);
    BOOST_TEST(!resolved.ok(), "accepted " << std::string(path) << " as " << resolved.file);
    BOOST_TEST(resolved.file.empty());
  }
  // The bound is on the raw bytes: one byte less is a (long) name.
  BOOST_TEST(resolve_static_path(long_path.substr(0, kMaxStaticPathBytes)).ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ui_files)

BOOST_AUTO_TEST_CASE(loads_regular_files_inside_and_nothing_else) {
  UiFolder folder;
  fs::create_symlink(folder.secret, folder.ui / "secret-link");           // a file outside
  fs::create_symlink("/etc", folder.ui / "etc");                          // a folder outside
  fs::create_symlink("/dev/zero", folder.ui / "zero");                    // a device
  fs::create_symlink(folder.ui / "sub", folder.ui / "sub-link");          // a folder inside
  fs::create_symlink(folder.ui / "app.js", folder.ui / "app-link.js");    // a file inside
  fs::create_symlink(folder.temp / "nowhere", folder.ui / "dangling");    // nothing
  BOOST_TEST_REQUIRE(::mkfifo((folder.ui / "fifo").c_str(), 0600) == 0);  // would block a reader

  auto loaded = UiFiles::load(folder.ui);
  BOOST_TEST_REQUIRE(loaded.has_value(), loaded.status().to_string());
  const UiFiles& files = **loaded;
  for (const char* name : {"index.html", "app.js", "app-link.js", "sub/inner.css"}) {
    BOOST_TEST(files.find(name) != nullptr, name);
  }
  for (const char* name : {"secret-link", "etc", "etc/passwd", "zero", "sub-link", "sub-link/inner.css",
                           "dangling", "fifo", ".hidden", "sub", "sub/"}) {
    BOOST_TEST(files.find(name) == nullptr, name);
  }
  BOOST_TEST(files.size() == 4u);
  BOOST_TEST(files.find("sub/inner.css")->content == "body { margin: 0; }");
  BOOST_TEST(files.find("app-link.js")->content == files.find("app.js")->content);
  BOOST_TEST(files.total_bytes() == 34u + 2 * 20u + 19u);
  // Each left-out entry is reported, for the log.
  std::string skipped;
  for (const auto& line : files.skipped()) skipped += line + "\n";
  for (const char* name : {"secret-link:", "etc:", "zero:", "sub-link:", "dangling:", "fifo:", ".hidden:"}) {
    BOOST_TEST(skipped.find(name) != std::string::npos, name << " not in\n" << skipped);
  }
}

BOOST_AUTO_TEST_CASE(the_folder_given_through_a_symlink_is_its_real_folder) {
  UiFolder folder;
  fs::create_symlink(folder.ui, folder.temp / "ui-link");
  auto loaded = UiFiles::load(folder.temp / "ui-link");
  BOOST_TEST_REQUIRE(loaded.has_value(), loaded.status().to_string());
  BOOST_TEST((*loaded)->find("index.html") != nullptr);
  BOOST_TEST((*loaded)->size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_missing_folder_or_one_over_the_bounds_is_an_error) {
  UiFolder folder;
  BOOST_TEST(!UiFiles::load(folder.temp / "absent").has_value());
  BOOST_TEST(!UiFiles::load(folder.secret).has_value());  // a file, not a folder
  BOOST_TEST(!UiFiles::load(folder.ui, {.max_total_bytes = 50}).has_value());
  BOOST_TEST(!UiFiles::load(folder.ui, {.max_files = 2}).has_value());
  BOOST_TEST(UiFiles::load(folder.ui, {.max_total_bytes = 34 + 20 + 19, .max_files = 3}).has_value());
  // Folders deeper than the bound are left out, not an error.
  write_file(folder.ui / "a" / "b" / "c.js", "deep");
  auto shallow = UiFiles::load(folder.ui, {.max_depth = 1});
  BOOST_TEST_REQUIRE(shallow.has_value(), shallow.status().to_string());
  BOOST_TEST((*shallow)->find("a/b/c.js") == nullptr);
  BOOST_TEST((*shallow)->find("sub/inner.css") != nullptr);
}

BOOST_AUTO_TEST_CASE(etags_are_strong_stable_and_follow_the_content) {
  UiFolder folder;
  auto first = UiFiles::load(folder.ui);
  auto again = UiFiles::load(folder.ui);
  BOOST_TEST_REQUIRE((first.has_value() && again.has_value()));
  const std::string etag = (*first)->find("app.js")->etag;
  BOOST_TEST(etag.size() == 34u);
  BOOST_TEST(etag.front() == '"');
  BOOST_TEST(etag.back() == '"');
  BOOST_TEST((*again)->find("app.js")->etag == etag);
  BOOST_TEST((*first)->find("index.html")->etag != etag);
  write_file(folder.ui / "app.js", "console.log('changed');");
  auto changed = UiFiles::load(folder.ui);
  BOOST_TEST_REQUIRE(changed.has_value());
  BOOST_TEST((*changed)->find("app.js")->etag != etag);
}

BOOST_AUTO_TEST_CASE(if_none_match_compares_weakly) {
  const std::string etag = "\"0123\"";
  BOOST_TEST(etag_matches("\"0123\"", etag));
  BOOST_TEST(etag_matches("W/\"0123\"", etag));
  BOOST_TEST(etag_matches("\"aaaa\", \"0123\"", etag));
  BOOST_TEST(etag_matches("*", etag));
  BOOST_TEST(!etag_matches("\"0124\"", etag));
  BOOST_TEST(!etag_matches("0123", etag));
  BOOST_TEST(!etag_matches("", etag));
  BOOST_TEST(!etag_matches(",", etag));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ui_server)

BOOST_AUTO_TEST_CASE(answers_carry_type_nosniff_csp_and_etag) {
  UiFolder folder;
  UiServer server(folder.ui);
  BOOST_TEST_REQUIRE(server.reload().has_value());

  const auto page = server.answer("/", std::nullopt);
  BOOST_TEST(page.status == 200);
  BOOST_TEST(page.body == "<!doctype html><title>ates</title>");
  BOOST_TEST(page.content_type == "text/html; charset=utf-8");
  BOOST_TEST(header(page, "X-Content-Type-Options") == "nosniff");
  BOOST_TEST(header(page, "Referrer-Policy") == "no-referrer");
  BOOST_TEST(header(page, "Cache-Control") == "no-cache");
  BOOST_TEST(header(page, "Content-Security-Policy") == std::string(kUiContentSecurityPolicy));
  const std::string etag = header(page, "ETag");
  BOOST_TEST(etag == server.current()->find("index.html")->etag);

  const auto script = server.answer("/app.js", std::nullopt);
  BOOST_TEST(script.status == 200);
  BOOST_TEST(script.content_type == "text/javascript; charset=utf-8");
  BOOST_TEST(header(script, "X-Content-Type-Options") == "nosniff");
  BOOST_TEST(header(script, "Content-Security-Policy").empty());  // only the page needs one
  BOOST_TEST(server.answer("/sub/inner.css", std::nullopt).content_type == "text/css; charset=utf-8");

  // The same ETag back: 304, no body, the length of what it stands for.
  const auto cached = server.answer("/", etag);
  BOOST_TEST(cached.status == 304);
  BOOST_TEST(cached.body.empty());
  BOOST_TEST(header(cached, "ETag") == etag);
  BOOST_TEST(header(cached, "Content-Length") == std::to_string(page.body.size()));
  BOOST_TEST(header(cached, "X-Content-Type-Options") == "nosniff");
  BOOST_TEST(server.answer("/", "\"other\"").status == 200);
  BOOST_TEST(server.answer("/app.js", etag).status == 200);  // another file's tag

  for (const char* path :
       {"/missing.js", "//etc/passwd", "/sub", "/sub/", "/../secret.txt", "/%2e%2e/secret.txt"}) {
    const auto missing = server.answer(path, std::nullopt);
    BOOST_TEST(missing.status == 404, path);
    BOOST_TEST(missing.content_type == "application/problem+json", path);
    BOOST_TEST(header(missing, "X-Content-Type-Options") == "nosniff", path);
  }
}

BOOST_AUTO_TEST_CASE(a_reload_swaps_in_the_new_files_and_a_failed_one_keeps_the_old) {
  UiFolder folder;
  UiServer server(folder.ui);
  BOOST_TEST_REQUIRE(server.reload().has_value());
  const std::shared_ptr<const UiFiles> before = server.current();

  write_file(folder.ui / "app.js", "console.log('rebuilt');");
  write_file(folder.ui / "new.js", "1;");
  BOOST_TEST_REQUIRE(server.reload().has_value());
  BOOST_TEST(server.answer("/app.js", std::nullopt).body == "console.log('rebuilt');");
  BOOST_TEST(server.answer("/new.js", std::nullopt).status == 200);
  BOOST_TEST(before->find("app.js")->content ==
             "console.log('ates');");  // an answer in flight keeps its load

  fs::rename(folder.ui, folder.temp / "moved");
  BOOST_TEST(!server.reload().has_value());
  BOOST_TEST(server.answer("/new.js", std::nullopt).status == 200);
}

BOOST_AUTO_TEST_CASE(without_a_folder_every_answer_is_404) {
  UiServer none;
  BOOST_TEST(!none.reload().has_value());
  const auto answer = none.answer("/", std::nullopt);
  BOOST_TEST(answer.status == 404);
  BOOST_TEST(answer.body.find("the UI is not installed") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::server
