// The tracker plugin in a real host with auth: assignment, shuffles,
// completion, validation, every route for every role.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <boost/test/unit_test.hpp>

#include "ates/protocol/events.hpp"
#include "ates/testing/stream.hpp"
#include "ates/testing/temp_dir.hpp"
#include "ates/testing/test_host.hpp"
#include "ates/testing/wait.hpp"

namespace ates {
namespace {

using testing::HttpClient;
using testing::HttpResponse;

const std::filesystem::path kPlugins = ATES_PLUGINS_DIR;

using testing::bearer;

// auth and tracker, with an admin "boss"; ids and tokens by username.
struct TrackerHost : testing::PluginsHost {
  explicit TrackerHost(std::map<std::string, std::string> environment = {})
      : PluginsHost(kPlugins, "auth,tracker", with_seed(std::move(environment))) {
    add("boss", "admin");
    BOOST_TEST_REQUIRE(testing::wait_until(
        [&] { return client->get("/api/v1/auth/me", bearer(tokens["boss"])).status == 200; }));
  }

  static std::map<std::string, std::string> with_seed(std::map<std::string, std::string> environment) {
    environment.emplace("ATES_TRACKER_RANDOM_SEED", "42");
    return environment;
  }

  // Waits until the tracker has applied every auth.users event so far.
  void sync_users() {
    BOOST_TEST_REQUIRE(testing::wait_until([&] {
      const auto body = client->get("/api/v1/events/streams", bearer(tokens["boss"])).json();
      if (!body.is_object()) return false;
      for (const auto& stream : body["streams"]) {
        if (stream["name"] != "auth.users") continue;
        for (const auto& consumer : stream["consumers"]) {
          if (consumer["plugin"] == "tracker") return consumer["applied_seq"] == stream["head_seq"];
        }
      }
      return false;
    }));
  }

  HttpResponse as(const std::string& who, const std::string& method, const std::string& path,
                  const nlohmann::json& body = nullptr, std::map<std::string, std::string> extra = {}) const {
    auto headers = bearer(tokens.at(who));
    headers.insert(extra.begin(), extra.end());
    return client->request(method, path, body.is_null() ? std::string() : body.dump(), headers);
  }

  nlohmann::json create(const std::string& who, const nlohmann::json& body) const {
    const auto response = as(who, "POST", "/api/v1/tracker/tasks", body);
    BOOST_TEST_REQUIRE(response.status == 201, response.body);
    return response.json()["task"];
  }
};

void check_problem(const HttpResponse& response, long status, const std::string& detail_part) {
  BOOST_TEST(response.status == status, response.body);
  BOOST_TEST(response.json()["detail"].get<std::string>().find(detail_part) != std::string::npos,
             response.json()["detail"]);
}

BOOST_AUTO_TEST_SUITE(tracker)

BOOST_AUTO_TEST_CASE(tasks_go_only_to_active_workers_and_accountants_uniformly) {
  TrackerHost h;
  h.add("mgr", "manager");
  h.sync_users();
  check_problem(h.as("mgr", "POST", "/api/v1/tracker/tasks", {{"title", "nobody to take it"}}), 409,
                "no one can take");
  for (const std::string name : {"wk1", "wk2", "wk3", "acc"})
    h.add(name, name == "acc" ? "accountant" : "worker");
  h.add("gone", "worker");
  BOOST_TEST(h.as("boss", "PATCH", "/api/v1/auth/users/" + h.user_ids["gone"], {{"active", false}}).status ==
             200);
  h.sync_users();
  // 10 000 tasks from four clients at once. The seeded source draws in
  // commit order, so the multiset of assignees is the same on every run.
  constexpr int kTasks = 10'000, kClients = 4;
  std::map<std::string, int> counts;
  std::mutex counts_mutex;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = c; i < kTasks; i += kClients) {
        const auto response =
            h.as("mgr", "POST", "/api/v1/tracker/tasks", {{"title", "task " + std::to_string(i)}});
        if (response.status != 201) {
          ++failures;
          continue;
        }
        std::lock_guard lock(counts_mutex);
        counts[response.json()["task"]["assignee_id"]]++;
      }
    });
  }
  for (auto& client : clients) client.join();
  BOOST_TEST_REQUIRE(failures.load() == 0);
  std::set<std::string> allowed = {h.user_ids["wk1"], h.user_ids["wk2"], h.user_ids["wk3"],
                                   h.user_ids["acc"]};
  double chi_square = 0;
  for (const auto& [assignee, count] : counts) {
    BOOST_TEST(allowed.contains(assignee), "assigned to a manager, admin or deactivated user");
    const double expected = kTasks / 4.0;
    chi_square += (count - expected) * (count - expected) / expected;
  }
  BOOST_TEST(counts.size() == 4u);
  // 3 degrees of freedom: p = 0.001 at 16.27. Seeded, so this is stable.
  BOOST_TEST(chi_square < 16.27, "chi-square " << chi_square);
}

BOOST_AUTO_TEST_CASE(routes_for_every_role) {
  TrackerHost h;
  h.add("mgr", "manager");
  h.add("acc", "accountant");
  h.add("wkr", "worker");
  h.sync_users();
  const auto task =
      h.create("wkr", {{"title", "Feed the popugs"}, {"jira_id", "UBERPOP-42"}, {"description", "twice"}});
  BOOST_TEST(task["jira_id"] == "UBERPOP-42");
  BOOST_TEST(task["status"] == "open");
  const std::string assignee = task["assignee_id"];
  const std::string other = assignee == h.user_ids["acc"] ? "wkr" : "acc";
  const std::string owner = assignee == h.user_ids["acc"] ? "acc" : "wkr";
  const std::string path = "/api/v1/tracker/tasks/" + task["id"].get<std::string>();
  // One task: its assignee, managers and admins.
  for (const std::string& who : {owner, std::string("mgr"), std::string("boss")})
    BOOST_TEST(h.as(who, "GET", path).status == 200);
  check_problem(h.as(other, "GET", path), 403, "only its assignee");
  // All tasks: managers and admins.
  BOOST_TEST(h.as("mgr", "GET", "/api/v1/tracker/tasks").json()["tasks"].size() == 1u);
  BOOST_TEST(h.as("boss", "GET", "/api/v1/tracker/tasks?status=open&assignee_id=" + assignee)
                 .json()["tasks"]
                 .size() == 1u);
  check_problem(h.as(owner, "GET", "/api/v1/tracker/tasks"), 403, "may not");
  check_problem(h.as("mgr", "GET", "/api/v1/tracker/tasks?status=later"), 400,
                R"(status: must be one of "open", "done")");
  check_problem(h.as("mgr", "GET", "/api/v1/tracker/tasks?status=OPEN"), 400,
                R"(status: must be one of "open", "done")");
  check_problem(h.as("mgr", "GET", "/api/v1/tracker/tasks?status="), 400,
                R"(status: must be one of "open", "done")");
  check_problem(h.as("mgr", "GET", "/api/v1/tracker/tasks?status=open%00"), 400,
                R"(status: must be one of "open", "done")");
  // Mine.
  BOOST_TEST(h.as(owner, "GET", "/api/v1/tracker/tasks/mine").json()["tasks"].size() == 1u);
  BOOST_TEST(h.as(other, "GET", "/api/v1/tracker/tasks/mine").json()["tasks"].empty());
  // Complete: only the assignee, once.
  check_problem(h.as(other, "POST", path + "/complete"), 403, "only the assignee");
  check_problem(h.as("boss", "POST", path + "/complete"), 403, "only the assignee");
  const auto done = h.as(owner, "POST", path + "/complete");
  BOOST_TEST(done.status == 200, done.body);
  BOOST_TEST(done.json()["task"]["status"] == "done");
  BOOST_TEST(!done.json()["task"]["completed_at"].is_null());
  check_problem(h.as(owner, "POST", path + "/complete"), 409, "done already");
  BOOST_TEST(h.as(owner, "GET", "/api/v1/tracker/tasks/mine?status=done").json()["tasks"].size() == 1u);
  BOOST_TEST(h.as(owner, "GET", "/api/v1/tracker/tasks/mine").json()["tasks"].empty());
  // Shuffle: managers and admins.
  for (const std::string& who : {std::string("acc"), std::string("wkr")}) {
    check_problem(h.as(who, "POST", "/api/v1/tracker/tasks/shuffle"), 403, "may not");
  }
  BOOST_TEST(h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle").json()["reassigned"] ==
             0);  // the only task is done
  check_problem(h.client->get("/api/v1/tracker/tasks/mine"), 401, "bearer token");
  check_problem(h.as("mgr", "GET", "/api/v1/tracker/tasks/00000000-0000-4000-8000-000000000000"), 404,
                "no task");
}

BOOST_AUTO_TEST_CASE(titles_and_jira_ids_are_validated_and_keys_replay) {
  TrackerHost h;
  h.add("wkr", "worker");
  h.sync_users();
  check_problem(h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", "[UBERPOP-42] old style"}}), 400,
                "title: must not contain");
  check_problem(h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", ""}}), 400,
                "title: must not be empty");
  check_problem(h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", std::string(201, 't')}}), 400,
                "title: at most 200 characters");
  check_problem(h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", "ok"}, {"jira_id", "uberpop-1"}}),
                400, "jira_id");
  check_problem(h.as("wkr", "POST", "/api/v1/tracker/tasks",
                     {{"title", "ok"}, {"description", std::string(4001, 'd')}}),
                400, "description: at most 4000");
  check_problem(h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", 7}}), 400, "title: must be a string");
  // An Idempotency-Key replay creates one task.
  const std::map<std::string, std::string> key{{"Idempotency-Key", "create-once"}};
  const auto first = h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", "only once"}}, key);
  const auto again = h.as("wkr", "POST", "/api/v1/tracker/tasks", {{"title", "only once"}}, key);
  BOOST_TEST(first.status == 201);
  BOOST_TEST(again.body == first.body);
  BOOST_TEST(h.as("boss", "GET", "/api/v1/tracker/tasks").json()["tasks"].size() == 1u);
}

// A key belongs to the user who sent it: another user's same key is another
// request, and only its sender gets the first answer again.
BOOST_AUTO_TEST_CASE(an_idempotency_key_is_scoped_to_its_user) {
  TrackerHost h;
  h.add("wk1", "worker");
  h.add("wk2", "worker");
  h.sync_users();
  const std::map<std::string, std::string> key{{"Idempotency-Key", "same-key"}};
  const auto first = h.as("wk1", "POST", "/api/v1/tracker/tasks", {{"title", "one"}}, key);
  const auto other_user = h.as("wk2", "POST", "/api/v1/tracker/tasks", {{"title", "one"}}, key);
  BOOST_TEST_REQUIRE(first.status == 201, first.body);
  BOOST_TEST_REQUIRE(other_user.status == 201, other_user.body);
  BOOST_TEST(other_user.header("idempotent-replayed").empty());
  BOOST_TEST(other_user.json()["task"]["id"] != first.json()["task"]["id"]);
  const auto retry = h.as("wk1", "POST", "/api/v1/tracker/tasks", {{"title", "one"}}, key);
  BOOST_TEST(retry.body == first.body);
  BOOST_TEST(retry.header("idempotent-replayed") == "true");
  check_problem(h.as("wk1", "POST", "/api/v1/tracker/tasks", {{"title", "two"}}, key), 409,
                "another request");
  // A PATCH with a key is answered once too.
  const std::string path = "/api/v1/tracker/tasks/" + first.json()["task"]["id"].get<std::string>();
  const std::map<std::string, std::string> edit_key{{"Idempotency-Key", "edit-1"}};
  const auto edited = h.as("boss", "PATCH", path, {{"title", "one, edited"}}, edit_key);
  BOOST_TEST_REQUIRE(edited.status == 200, edited.body);
  BOOST_TEST(
      h.as("boss", "PATCH", path, {{"title", "one, edited"}}, edit_key).header("idempotent-replayed") ==
      "true");
  BOOST_TEST(h.as("boss", "GET", "/api/v1/tracker/tasks").json()["tasks"].size() == 2u);
}

// Titles and descriptions reach other people's screens, receipts and logs:
// control characters, line separators and bidirectional controls are a
// 400 naming the field, on create and on edit; tabs and line breaks are
// welcome in a description only.
BOOST_AUTO_TEST_CASE(control_characters_in_titles_and_descriptions_are_refused) {
  TrackerHost h;
  h.add("wkr", "worker");
  h.sync_users();
  const auto task = h.create("boss", {{"title", "Feed"}});
  const std::string path = "/api/v1/tracker/tasks/" + task["id"].get<std::string>();
  const std::vector<std::string> refused = {
      std::string(1, '\0'), "\x07",         "\x1b[31m",     "\r",           "\x7f",        "\xc2\x85",
      "\xc2\x9b",           "\xe2\x80\xa8", "\xe2\x80\xa9", "\xe2\x80\xae", "\xe2\x81\xa6"};
  const std::vector<std::string> breaks = {"\n", "\r\n", "\t"};
  for (const auto& bad : refused) {
    BOOST_TEST_CONTEXT(nlohmann::json(bad).dump()) {
      check_problem(h.as("boss", "POST", "/api/v1/tracker/tasks", {{"title", "a" + bad + "b"}}), 400,
                    "title: must not contain");
      check_problem(h.as("boss", "PATCH", path, {{"title", "a" + bad + "b"}}), 400,
                    "title: must not contain");
      check_problem(
          h.as("boss", "POST", "/api/v1/tracker/tasks", {{"title", "ok"}, {"description", "a" + bad + "b"}}),
          400, "description: must not contain");
      check_problem(h.as("boss", "PATCH", path, {{"description", "a" + bad + "b"}}), 400,
                    "description: must not contain");
    }
  }
  check_problem(h.as("boss", "POST", "/api/v1/tracker/tasks", {{"title", "ok\x07"}}), 400,
                "title: must not contain U+0007");
  for (const auto& line_break : breaks) {
    BOOST_TEST_CONTEXT(nlohmann::json(line_break).dump()) {
      check_problem(h.as("boss", "POST", "/api/v1/tracker/tasks", {{"title", "a" + line_break + "b"}}), 400,
                    "title: must not contain");
      const auto created =
          h.create("boss", {{"title", "ok"}, {"description", "line one" + line_break + "line two"}});
      BOOST_TEST(created["description"] == "line one" + line_break + "line two");
      const auto edited = h.as("boss", "PATCH", path, {{"description", "x" + line_break + "y"}});
      BOOST_TEST(edited.status == 200, edited.body);
    }
  }
  BOOST_TEST(h.as("boss", "GET", path).json()["task"]["title"] == "Feed");  // no refused edit applied
}

BOOST_AUTO_TEST_CASE(shuffle_reassigns_every_open_task_once_and_follows_role_changes) {
  TrackerHost h(std::map<std::string, std::string>{{"ATES_TRACKER_SHUFFLE_BATCH", "7"}});  // many batches
  h.add("mgr", "manager");
  h.add("wk1", "worker");
  h.add("wk2", "worker");
  h.sync_users();
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(h.create("mgr", {{"title", "t" + std::to_string(i)}})["id"]);
  // Ten are done before the shuffle.
  int done = 0;
  for (const auto& id : ids) {
    const auto task = h.as("mgr", "GET", "/api/v1/tracker/tasks/" + id).json()["task"];
    const std::string who = task["assignee_id"] == h.user_ids["wk1"] ? "wk1" : "wk2";
    if (done < 10 && h.as(who, "POST", "/api/v1/tracker/tasks/" + id + "/complete").status == 200) ++done;
  }
  // w2 becomes a manager: from now on only w1 can get tasks.
  BOOST_TEST(h.as("boss", "PATCH", "/api/v1/auth/users/" + h.user_ids["wk2"], {{"role", "manager"}}).status ==
             200);
  h.sync_users();
  const auto shuffled = h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle");
  BOOST_TEST_REQUIRE(shuffled.status == 200, shuffled.body);
  BOOST_TEST(shuffled.json()["reassigned"] == 30);
  const auto open = h.as("boss", "GET", "/api/v1/tracker/tasks?status=open").json()["tasks"];
  BOOST_TEST(open.size() == 30u);
  for (const auto& task : open) BOOST_TEST(task["assignee_id"] == h.user_ids["wk1"]);
  const auto finished = h.as("boss", "GET", "/api/v1/tracker/tasks?status=done").json()["tasks"];
  BOOST_TEST(finished.size() == 10u);
  // A new task goes to w1 as well.
  BOOST_TEST(h.create("mgr", {{"title", "after"}})["assignee_id"] == h.user_ids["wk1"]);
}

BOOST_AUTO_TEST_CASE(the_list_filters_are_independent_and_an_assignee_alone_pages_both_statuses) {
  TrackerHost h;
  h.add("mgr", "manager");
  h.add("wkr", "worker");  // the only one who can take a task
  h.sync_users();
  std::set<std::string> all, done;
  for (int i = 0; i < 7; ++i) {
    const std::string id = h.create("mgr", {{"title", "t" + std::to_string(i)}})["id"];
    all.insert(id);
    if (i % 2 == 0) {
      BOOST_TEST_REQUIRE(h.as("wkr", "POST", "/api/v1/tracker/tasks/" + id + "/complete").status == 200);
      done.insert(id);
    }
  }
  const std::string wkr = h.user_ids["wkr"];
  // The assignee alone: every task of theirs, open and done, in id order,
  // two a page, each once.
  std::vector<std::string> paged;
  std::string after;
  for (int pages = 0; pages < 10; ++pages) {
    const auto page =
        h.as("mgr", "GET",
             "/api/v1/tracker/tasks?limit=2&assignee_id=" + wkr + (after.empty() ? "" : "&after=" + after))
            .json();
    for (const auto& task : page["tasks"]) {
      BOOST_TEST(task["assignee_id"] == wkr);
      paged.push_back(task["id"]);
    }
    if (page["next"].is_null()) break;
    after = page["next"];
  }
  BOOST_TEST(paged == std::vector<std::string>(all.begin(), all.end()),
             std::vector<std::string>(all.begin(), all.end()).size());
  // Each filter alone, and both.
  const auto statuses = [&](const std::string& query) {
    std::set<std::string> ids;
    const auto page = h.as("boss", "GET", "/api/v1/tracker/tasks?" + query).json();
    for (const auto& task : page["tasks"]) ids.insert(task["id"]);
    return ids;
  };
  BOOST_TEST((statuses("status=done") == done));
  BOOST_TEST((statuses("status=done&assignee_id=" + wkr) == done));
  BOOST_TEST(statuses("status=open&assignee_id=" + wkr).size() == all.size() - done.size());
  BOOST_TEST((statuses("assignee_id=" + wkr) == all));
  BOOST_TEST(statuses("assignee_id=00000000-0000-4000-8000-000000000000").empty());
}

BOOST_AUTO_TEST_CASE(a_deactivated_worker_keeps_their_open_tasks_until_a_shuffle_moves_them) {
  TrackerHost h;
  h.add("mgr", "manager");
  h.add("wk1", "worker");
  h.sync_users();
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(h.create("mgr", {{"title", "t" + std::to_string(i)}})["id"]);
  BOOST_TEST(h.as("boss", "PATCH", "/api/v1/auth/users/" + h.user_ids["wk1"], {{"active", false}}).status ==
             200);
  h.add("wk2", "worker");
  h.sync_users();
  // Deactivation moves nothing: the tasks stay with wk1, open.
  for (const auto& id : ids) {
    const auto task = h.as("mgr", "GET", "/api/v1/tracker/tasks/" + id).json()["task"];
    BOOST_TEST(task["assignee_id"] == h.user_ids["wk1"]);
    BOOST_TEST(task["status"] == "open");
  }
  // A shuffle gives them to whoever may take tasks now: wk2 alone.
  const auto shuffled = h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle");
  BOOST_TEST_REQUIRE(shuffled.status == 200, shuffled.body);
  BOOST_TEST(shuffled.json()["reassigned"] == 3);
  for (const auto& id : ids) {
    BOOST_TEST(h.as("mgr", "GET", "/api/v1/tracker/tasks/" + id).json()["task"]["assignee_id"] ==
               h.user_ids["wk2"]);
  }
}

BOOST_AUTO_TEST_CASE(a_shuffle_retried_with_its_idempotency_key_changes_nothing_and_answers_the_same) {
  TrackerHost h;
  h.add("mgr", "manager");
  h.add("wk1", "worker");
  h.add("wk2", "worker");
  h.sync_users();
  for (int i = 0; i < 12; ++i) h.create("mgr", {{"title", "t" + std::to_string(i)}});
  const auto assignees = [&] {
    std::map<std::string, std::string> of;
    const auto page = h.as("mgr", "GET", "/api/v1/tracker/tasks?status=open").json();
    for (const auto& task : page["tasks"]) of[task["id"]] = task["assignee_id"];
    return of;
  };
  const auto head = [&] {
    const auto streams = h.as("boss", "GET", "/api/v1/events/streams").json();
    for (const auto& stream : streams["streams"]) {
      if (stream["name"] == "tracker.tasks") return stream["head_seq"].get<std::uint64_t>();
    }
    return std::uint64_t{0};
  };
  const std::map<std::string, std::string> key{{"Idempotency-Key", "shuffle-once"}};
  const auto first = h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle", nullptr, key);
  BOOST_TEST_REQUIRE(first.status == 200, first.body);
  BOOST_TEST(first.json()["reassigned"] == 12);
  const auto after_first = assignees();
  const auto head_after_first = head();
  // The retry: the first answer, marked as a replay; no task moves and no
  // event (so no fee) is published.
  const auto retry = h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle", nullptr, key);
  BOOST_TEST_REQUIRE(retry.status == 200, retry.body);
  BOOST_TEST(retry.json() == first.json());
  BOOST_TEST(retry.header("idempotent-replayed") == "true");
  BOOST_TEST((assignees() == after_first));
  BOOST_TEST(head() == head_after_first);
  // Without the key, or with another, a shuffle is a new one.
  const auto other =
      h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle", nullptr, {{"Idempotency-Key", "again"}});
  BOOST_TEST_REQUIRE(other.status == 200, other.body);
  BOOST_TEST(other.json()["shuffle_id"] != first.json()["shuffle_id"]);
  BOOST_TEST(head() > head_after_first);
  // The same key with another request is refused; so is another user's
  // replay of it (a key belongs to its user: boss's is a new shuffle).
  check_problem(h.as("mgr", "POST", "/api/v1/tracker/tasks", {{"title", "x"}}, key), 409, "another request");
  const auto boss = h.as("boss", "POST", "/api/v1/tracker/tasks/shuffle", nullptr, key);
  BOOST_TEST_REQUIRE(boss.status == 200, boss.body);
  BOOST_TEST(boss.json()["shuffle_id"] != first.json()["shuffle_id"]);
}

BOOST_AUTO_TEST_CASE(a_task_completed_during_a_shuffle_is_skipped) {
  // One task per batch, so completions land between the shuffle's units.
  TrackerHost h(std::map<std::string, std::string>{{"ATES_TRACKER_SHUFFLE_BATCH", "1"}});
  h.add("mgr", "manager");
  h.add("wk1", "worker");
  h.add("wk2", "worker");
  h.add("wk3", "worker");
  h.sync_users();
  constexpr int kTasks = 400;
  std::vector<std::string> ids;
  for (int i = 0; i < kTasks; ++i) ids.push_back(h.create("mgr", {{"title", "t" + std::to_string(i)}})["id"]);
  std::sort(ids.begin(), ids.end());  // the shuffle walks open tasks in id order
  std::map<std::string, std::string> name_of;
  for (const std::string name : {"wk1", "wk2", "wk3"}) name_of[h.user_ids[name]] = name;

  // The shuffle walks up from the lowest id; completions walk down from the
  // highest, each by whoever holds the task at that moment.
  std::atomic<bool> shuffle_done{false};
  std::atomic<int> completed_during{0};
  std::thread completer([&] {
    for (auto it = ids.rbegin(); it != ids.rend() && !shuffle_done; ++it) {
      for (int attempt = 0; attempt < 5; ++attempt) {  // reassigned between the read and the POST: again
        const auto task = h.as("mgr", "GET", "/api/v1/tracker/tasks/" + *it).json()["task"];
        const auto done =
            h.as(name_of.at(task["assignee_id"]), "POST", "/api/v1/tracker/tasks/" + *it + "/complete");
        if (done.status == 200) {
          if (!shuffle_done) ++completed_during;
          break;
        }
      }
    }
  });
  const auto shuffled = h.as("mgr", "POST", "/api/v1/tracker/tasks/shuffle");
  shuffle_done = true;
  completer.join();
  BOOST_TEST_REQUIRE(shuffled.status == 200, shuffled.body);
  const int reassigned = shuffled.json()["reassigned"];
  BOOST_TEST_MESSAGE("completed during the shuffle: " << completed_during.load()
                                                      << ", reassigned: " << reassigned);
  BOOST_TEST_REQUIRE(completed_during.load() > 0, "no completion overlapped the shuffle");

  // What the tracker published says the rest.
  h.host->shutdown();
  std::map<std::string, std::vector<protocol::Envelope>> by_task;
  for (auto& event : testing::read_stream(h.dir / "data" / "tracker", "tracker", protocol::kTasksStream)) {
    std::string task;
    if (event.name == protocol::TaskAssigned::kName)
      task = protocol::decode_payload<protocol::TaskAssigned>(event)->task_id;
    if (event.name == protocol::TaskCompleted::kName)
      task = protocol::decode_payload<protocol::TaskCompleted>(event)->task_id;
    if (!task.empty()) by_task[task].push_back(std::move(event));
  }
  int shuffle_assignments = 0, skipped = 0;
  for (const auto& id : ids) {
    const auto& events = by_task[id];
    int shuffled_here = 0;
    bool done = false;
    for (const auto& event : events) {
      if (event.name == protocol::TaskCompleted::kName) done = true;
      if (event.name != protocol::TaskAssigned::kName) continue;
      const auto assigned = protocol::decode_payload<protocol::TaskAssigned>(event);
      if (assigned->reason != "shuffle") continue;
      BOOST_TEST(!done, "task " << id << " was reassigned after it was completed");
      ++shuffled_here;
    }
    BOOST_TEST(shuffled_here <= 1, "task " << id << " reassigned " << shuffled_here << " times");
    // A task still open when the shuffle ended was reassigned exactly once.
    if (!done) BOOST_TEST(shuffled_here == 1, "open task " << id << " was not reassigned");
    if (done && shuffled_here == 0) ++skipped;
    shuffle_assignments += shuffled_here;
  }
  BOOST_TEST(shuffle_assignments == reassigned);
  BOOST_TEST(skipped > 0, "no task was skipped because it was done");
}

BOOST_AUTO_TEST_CASE(a_task_can_be_edited_and_says_so_on_its_stream) {
  TrackerHost h;
  h.add("mgr", "manager");
  h.add("wk1", "worker");
  h.add("wk2", "worker");
  h.sync_users();
  const auto task = h.create("mgr", {{"title", "Feed"}, {"jira_id", "UBERPOP-1"}});
  const std::string path = "/api/v1/tracker/tasks/" + task["id"].get<std::string>();
  const std::string owner = task["assignee_id"] == h.user_ids["wk1"] ? "wk1" : "wk2";
  const std::string other = owner == "wk1" ? "wk2" : "wk1";
  // Its assignee, managers and admins.
  const auto edited = h.as(owner, "PATCH", path, {{"title", "Feed well"}, {"description", "twice a day"}});
  BOOST_TEST_REQUIRE(edited.status == 200, edited.body);
  BOOST_TEST(edited.json()["task"]["title"] == "Feed well");
  BOOST_TEST(edited.json()["task"]["jira_id"] == "UBERPOP-1");
  BOOST_TEST(edited.json()["task"]["description"] == "twice a day");
  check_problem(h.as(other, "PATCH", path, {{"title", "mine now"}}), 403, "only its assignee");
  BOOST_TEST(h.as("mgr", "PATCH", path, {{"jira_id", nullptr}}).json()["task"]["jira_id"].is_null());
  // The same data again changes nothing and says nothing.
  BOOST_TEST(h.as("boss", "PATCH", path, {{"title", "Feed well"}}).status == 200);
  // Bad edits name the field.
  check_problem(h.as("mgr", "PATCH", path, {{"title", "[X-1] Feed"}}), 400, "title: must not contain");
  check_problem(h.as("mgr", "PATCH", path, {{"title", 3}}), 400, "title: must be a string");
  check_problem(h.as("mgr", "PATCH", path, {{"jira_id", "x"}}), 400, "jira_id");
  check_problem(h.as("mgr", "PATCH", path, {{"status", "done"}}), 400, "status: unknown field");
  check_problem(
      h.as("mgr", "PATCH", "/api/v1/tracker/tasks/00000000-0000-4000-8000-000000000000", {{"title", "x"}}),
      404, "no task");
  BOOST_TEST(h.as("mgr", "GET", path).json()["task"]["title"] == "Feed well");

  h.host->shutdown();
  std::vector<protocol::TaskUpdated> updates;
  for (const auto& event :
       testing::read_stream(h.dir / "data" / "tracker", "tracker", protocol::kTasksStream)) {
    if (event.name == protocol::TaskUpdated::kName)
      updates.push_back(*protocol::decode_payload<protocol::TaskUpdated>(event));
  }
  BOOST_TEST_REQUIRE(updates.size() == 2u);
  BOOST_TEST(updates[0].title == "Feed well");
  BOOST_TEST(updates[0].jira_id.value_or("") == "UBERPOP-1");
  BOOST_TEST(updates[0].description == "twice a day");
  BOOST_TEST(!updates[1].jira_id.has_value());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates
