// task_json_writer against the nlohmann tree it replaces on GET /tasks/mine:
// the same bytes, for strings that need escaping, non-ASCII text, null
// fields, times across the calendar and whole pages.
#include <random>

#include <boost/test/unit_test.hpp>

#include "ates/plugin_api/http.hpp"
#include "ates/protocol/events.hpp"
#include "ates/protocol/time.hpp"
#include "ates/testing/temp_dir.hpp"

#include "task_json_writer.hpp"

namespace ates::tracker {
namespace {

using base::Status;

// The tree-based page of the route before the writer (tracker_plugin.cpp's
// page_json), as text.
std::string tree_page(std::vector<Task> tasks, std::size_t limit) {
  return plugin_api::page_of<Task>(
             std::move(tasks), plugin_api::Page{.limit = limit}, [](const Task& t) { return t.id; }, "tasks",
             task_json)
      .dump();
}

std::string written(const Task& task) {
  std::string out;
  append_task_json(out, task);
  return out;
}

std::string written(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

Task plain_task(std::string id) {
  Task task;
  task.id = std::move(id);
  task.title = "Feed the popugs";
  task.jira_id = "UBERPOP-42";
  task.description = "twice a day";
  task.assignee_id = "0b7c6a4e-2f1d-4c55-9a43-0d1e7f3b9a21";
  task.created_by = "boss";
  task.created_at = 1'700'000'000'123'456;
  return task;
}

// Both ways of writing `task`: the same bytes, and the same JSON.
void check_task(const Task& task) {
  const std::string fast = written(task);
  BOOST_TEST(fast == task_json(task).dump());
  BOOST_TEST(nlohmann::json::parse(fast) == task_json(task));
}

BOOST_AUTO_TEST_SUITE(task_json_writer)

BOOST_AUTO_TEST_CASE(tricky_strings_are_written_as_the_tree_writes_them) {
  std::string every_control;
  for (char c = 0; c < 0x20; ++c) every_control += c;
  every_control += '\x7f';  // not a control character to JSON: copied
  const std::vector<std::string> texts = {
      "",
      "say \"hi\"",
      R"(C:\popug\nest \" \\ \u0041)",
      every_control,
      "tab\there\r\nnew line\fform\bback",
      "slash / stays",
      "café, naïve, Ärger",
      "попугай 鹦鹉 オウム",
      "emoji 🦜 and 𝄞, U+FFFF \xEF\xBF\xBF, U+10FFFF \xF4\x8F\xBF\xBF",
      std::string("nul \0 inside", 12),
  };
  for (const auto& text : texts) {
    BOOST_TEST_CONTEXT("text " << nlohmann::json(text).dump()) {
      BOOST_TEST(written(text) == nlohmann::json(text).dump());
      Task task = plain_task("a");
      task.title = text;
      task.description = text;
      task.assignee_id = text;
      check_task(task);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_empty_jira_id_and_an_open_task_s_completed_at_are_null) {
  Task task = plain_task("a");
  task.jira_id.clear();
  check_task(task);
  const auto parsed = nlohmann::json::parse(written(task));
  BOOST_TEST(parsed["jira_id"].is_null());
  BOOST_TEST(parsed["completed_at"].is_null());

  task.jira_id = "UBERPOP-7";
  task.status = TaskStatus::kDone;
  task.completed_at = 1'700'000'360'000'000;
  check_task(task);
  BOOST_TEST(nlohmann::json::parse(written(task))["completed_at"] == "2023-11-14T22:19:20Z");
}

BOOST_AUTO_TEST_CASE(times_match_format_utc_across_the_calendar) {
  const std::int64_t day = 86'400'000'000;
  const std::vector<std::int64_t> micros = {
      0,
      1,
      999'999,
      -1,                         // truncated toward zero, like format_utc
      -1'000'000,                 // 1969-12-31T23:59:59Z: format_utc's own path
      951'782'400'000'000,        // 2000-02-29
      951'782'400'000'000 + day,  // 2000-03-01
      4'107'542'400'000'000,      // 2100-03-01 (2100 is no leap year)
      94'694'399'000'000,         // 1972-12-31T23:59:59Z
      253'402'300'799'999'999,    // 9999-12-31T23:59:59Z, the last four-digit year
      253'402'300'800'000'000,    // 10000-01-01: format_utc's own path
  };
  for (const std::int64_t t : micros) {
    std::string out;
    append_utc(out, t);
    BOOST_TEST(out == protocol::format_utc(t), "at " << t << " µs");
  }
  std::mt19937_64 random(42);
  std::uniform_int_distribution<std::int64_t> any(0, 253'402'300'799'999'999);
  int differing = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::int64_t t = any(random);
    std::string out;
    append_utc(out, t);
    if (out != protocol::format_utc(t) && differing++ == 0)
      BOOST_TEST_MESSAGE("first difference at " << t << " µs: " << out << " for " << protocol::format_utc(t));
  }
  BOOST_TEST(differing == 0);
}

// Random text of ASCII (control characters, quotes and backslashes
// frequent) and code points of every UTF-8 length.
std::string random_utf8(std::mt19937_64& random) {
  std::string text;
  const int length = static_cast<int>(random() % 24);
  for (int i = 0; i < length; ++i) {
    std::uint32_t cp = 0;
    switch (random() % 5) {
      case 0:
        cp = static_cast<std::uint32_t>(random() % 0x80);
        break;
      case 1:
        cp = "\"\\\n\x01\x1f"[random() % 5];
        break;
      case 2:
        cp = 0x80 + static_cast<std::uint32_t>(random() % (0x800 - 0x80));
        break;
      case 3:
        do cp = 0x800 + static_cast<std::uint32_t>(random() % (0x10000 - 0x800));
        while (cp >= 0xd800 && cp <= 0xdfff);
        break;
      default:
        cp = 0x10000 + static_cast<std::uint32_t>(random() % (0x110000 - 0x10000));
    }
    if (cp < 0x80) {
      text += static_cast<char>(cp);
    } else if (cp < 0x800) {
      text += static_cast<char>(0xc0 | cp >> 6);
      text += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      text += static_cast<char>(0xe0 | cp >> 12);
      text += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      text += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      text += static_cast<char>(0xf0 | cp >> 18);
      text += static_cast<char>(0x80 | (cp >> 12 & 0x3f));
      text += static_cast<char>(0x80 | (cp >> 6 & 0x3f));
      text += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  return text;
}

BOOST_AUTO_TEST_CASE(random_utf8_text_is_written_as_the_tree_writes_it) {
  std::mt19937_64 random(7);
  int differing = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::string text = random_utf8(random);
    if (written(text) != nlohmann::json(text).dump() && differing++ == 0)
      BOOST_TEST_MESSAGE("first difference: " << nlohmann::json(text).dump() << " written " << written(text));
  }
  BOOST_TEST(differing == 0);
}

BOOST_AUTO_TEST_CASE(invalid_utf8_becomes_u_fffd_as_nlohmann_replaces_it) {
  const auto replaced = [](const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  const std::vector<std::string> texts = {
      "\x80",
      "\xff",
      "a\xc3",
      "\xc0\xaf",
      "\xe0\x80\xaf",
      "\xed\xa0\x80",
      "\xf4\x90\x80\x80",
      "\xe2\x82",
      "\xe2\x82"
      "A",
      "\xf0\x9f\xa6"
      "\"",
  };
  for (const auto& text : texts) {
    BOOST_TEST(written(text) == replaced(text));
    BOOST_CHECK_NO_THROW(nlohmann::json::parse(written(text)));
  }
  // Random bytes, mostly ill-formed.
  std::mt19937_64 random(11);
  int differing = 0;
  for (int i = 0; i < 20'000; ++i) {
    std::string text(random() % 12, '\0');
    for (char& c : text) c = static_cast<char>(random() % 3 == 0 ? random() % 0x80 : 0x80 + random() % 0x80);
    if (written(text) != replaced(text) && differing++ == 0)
      BOOST_TEST_MESSAGE("first difference: " << replaced(text) << " written " << written(text));
  }
  BOOST_TEST(differing == 0);
}

BOOST_AUTO_TEST_CASE(pages_match_page_of) {
  std::vector<Task> tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.push_back(plain_task("id-" + std::to_string(i)));
    tasks.back().title = "task \"" + std::to_string(i) + "\" \\ ü";
  }
  tasks[1].jira_id.clear();
  tasks[2].status = TaskStatus::kDone;
  tasks[2].completed_at = 1'700'000'999'000'000;
  // A page with a following one (limit + 1 read), a last page, one task,
  // none.
  BOOST_TEST(tasks_page_json(tasks, 4) == tree_page(tasks, 4));
  BOOST_TEST(nlohmann::json::parse(tasks_page_json(tasks, 4))["next"] == "id-3");
  BOOST_TEST(tasks_page_json(tasks, 5) == tree_page(tasks, 5));
  BOOST_TEST(tasks_page_json(tasks, 100) == tree_page(tasks, 100));
  BOOST_TEST(tasks_page_json({tasks.data(), 1}, 1) == tree_page({tasks[0]}, 1));
  BOOST_TEST(tasks_page_json({}, 100) == tree_page({}, 100));
  BOOST_TEST(nlohmann::json::parse(tasks_page_json(tasks, 100)) ==
             nlohmann::json::parse(tree_page(tasks, 100)));
}

// Tasks::of_assignee decodes in place from LMDB for this page: what it
// reads is what get() reads, and the page written from it is page_json's.
BOOST_AUTO_TEST_CASE(a_page_read_from_storage_is_written_as_the_tree_writes_it) {
  testing::TempDir dir("ates-task-json");
  auto env = storage::Environment::open({.dir = dir.path(), .producer = "tracker"});
  BOOST_TEST_REQUIRE(env.has_value(), env.status().to_string());
  BOOST_TEST_REQUIRE((*env)->declare_stream(protocol::kTasksStream).is_ok());
  base::SeededRandom random(3);
  Tasks tasks(**env, random);
  const std::string worker = "5f0c3b8e-8a52-4d0e-9c6f-3b1e2a7d4c19";
  protocol::Envelope user;
  user.name = std::string(protocol::UserCreated::kName);
  user.payload = protocol::encode_payload(protocol::UserCreated{
      .user_id = worker, .username = "kiwi", .email = {}, .role = "worker", .active = true});
  const Status added = (*env)->run([&](storage::WriteTxn& txn) { return tasks.apply_user_event(txn, user); });
  BOOST_TEST_REQUIRE(added.is_ok(), added.to_string());
  // Revocations and key retirements on auth.users are not the tracker's
  // business: applied without error (no dead letter), the worker stays.
  for (const auto& [name, payload] : std::vector<std::pair<std::string_view, std::string>>{
           {protocol::TokensRevoked::kName, protocol::encode_payload(protocol::TokensRevoked{
                                                .user_id = worker, .generation = 1, .reason = "admin"})},
           {protocol::TokenRevoked::kName, protocol::encode_payload(protocol::TokenRevoked{
                                               .user_id = worker, .jti = "j-1", .expires_at = 1})},
           {protocol::SigningKeyRetired::kName,
            protocol::encode_payload(protocol::SigningKeyRetired{.kid = "k1", .not_after = 1})}}) {
    protocol::Envelope other;
    other.name = std::string(name);
    other.payload = payload;
    const Status ignored =
        (*env)->run([&](storage::WriteTxn& txn) { return tasks.apply_user_event(txn, other); });
    BOOST_TEST(ignored.is_ok(), name << ": " << ignored.to_string());
  }
  for (int i = 0; i < 150; ++i) {
    Task task;
    task.title = "task " + std::to_string(i) + " \"quoted\" \\ \x01 ü 🦜";
    task.jira_id = i % 3 == 0 ? "" : "UBERPOP-" + std::to_string(i);
    task.description = std::string(static_cast<std::size_t>(i), 'd') + "\n\t";
    task.created_by = "9d2e7a1c-4b3f-4e8a-8c5d-6f1a2b3c4d5e";
    const Status created =
        (*env)->run([&](storage::WriteTxn& txn) { return tasks.create(txn, task).status(); });
    BOOST_TEST_REQUIRE(created.is_ok(), created.to_string());
  }

  const auto first = tasks.of_assignee(worker, TaskStatus::kOpen, std::nullopt, 100);
  BOOST_TEST_REQUIRE(first.size() == 101u);
  for (const Task& task : first) {
    const auto stored = tasks.get(task.id);
    BOOST_TEST_REQUIRE(stored.has_value());
    BOOST_TEST(task_json(task) == task_json(*stored));
    BOOST_TEST(task.created_by == stored->created_by);
  }
  BOOST_TEST(tasks_page_json(first, 100) == tree_page(first, 100));
  const auto next = nlohmann::json::parse(tasks_page_json(first, 100))["next"].get<std::string>();
  const auto second = tasks.of_assignee(worker, TaskStatus::kOpen, next, 100);
  BOOST_TEST(second.size() == 50u);
  BOOST_TEST(tasks_page_json(second, 100) == tree_page(second, 100));
  BOOST_TEST(nlohmann::json::parse(tasks_page_json(second, 100))["next"].is_null());

  // Pages copied from the listed JSON are the same bytes as pages written
  // from the tasks themselves, also after the changes that rewrite a task
  // (an edit, a completion, a shuffle).
  const auto index_pages_of = [&](const std::string& assignee, TaskStatus status, std::size_t limit) {
    std::optional<std::string> after;
    std::size_t pages = 0;
    do {
      const auto tasks_read = tasks.of_assignee(assignee, status, after, limit);
      const std::string from_index = tasks.of_assignee_json(assignee, status, after, limit);
      BOOST_TEST(from_index == tasks_page_json(tasks_read, limit));
      const auto next = nlohmann::json::parse(from_index)["next"];
      after = next.is_null() ? std::nullopt : std::optional<std::string>(next.get<std::string>());
      ++pages;
    } while (after);
    return pages;
  };
  const auto index_pages_match = [&](TaskStatus status, std::size_t limit) {
    return index_pages_of(worker, status, limit);
  };
  BOOST_TEST(index_pages_match(TaskStatus::kOpen, 100) == 2u);
  BOOST_TEST(index_pages_match(TaskStatus::kDone, 100) == 1u);
  for (std::size_t i = 0; i < first.size(); i += 7) {
    const Status edited = (*env)->run([&](storage::WriteTxn& txn) {
      return tasks
          .update(txn, first[i].id,
                  TaskEdit{.title = "edited \"" + std::to_string(i) + "\"",
                           .jira_id = "",
                           .description = std::nullopt},
                  std::nullopt)
          .status();
    });
    BOOST_TEST_REQUIRE(edited.is_ok(), edited.to_string());
  }
  BOOST_TEST(index_pages_match(TaskStatus::kOpen, 100) == 2u);
  for (std::size_t i = 3; i < first.size(); i += 5) {
    const Status done = (*env)->run(
        [&](storage::WriteTxn& txn) { return tasks.complete(txn, first[i].id, worker).status(); });
    BOOST_TEST_REQUIRE(done.is_ok(), done.to_string());
  }
  BOOST_TEST(index_pages_match(TaskStatus::kOpen, 100) == 2u);
  BOOST_TEST(index_pages_match(TaskStatus::kDone, 7) ==
             3u);  // 20 done: pages of 7, 7 and 6, the last with next null
  // A second worker, so that the shuffle moves tasks between two.
  const std::string other = "0b7d4f2a-1c3e-4a5b-8d6f-7e8a9b0c1d2e";
  user.payload = protocol::encode_payload(protocol::UserCreated{
      .user_id = other, .username = "mango", .email = {}, .role = "worker", .active = true});
  const Status added_other =
      (*env)->run([&](storage::WriteTxn& txn) { return tasks.apply_user_event(txn, user); });
  BOOST_TEST_REQUIRE(added_other.is_ok(), added_other.to_string());
  const Status shuffled = (*env)->run([&](storage::WriteTxn& txn) -> Status {
    auto job = tasks.start_shuffle(txn, worker);
    if (!job) return job.status();
    return tasks.shuffle_batch(txn, job->id, 1000).status();
  });
  BOOST_TEST_REQUIRE(shuffled.is_ok(), shuffled.to_string());
  const std::size_t kept = index_pages_of(worker, TaskStatus::kOpen, 1);
  const std::size_t moved = index_pages_of(other, TaskStatus::kOpen, 1);
  BOOST_TEST(kept + moved == 130u);  // one page of one task each
  BOOST_TEST(moved > 20u);
  BOOST_TEST(index_pages_of(other, TaskStatus::kOpen, 100) >= 1u);
  BOOST_TEST(index_pages_match(TaskStatus::kDone, 7) == 3u);

  // A task whose listed JSON is missing (as in data written before it was
  // kept) is written from the task itself.
  const storage::RawTable listed = (*env)->raw_table("tasks_listed");
  const Status forgotten = (*env)->run([&](storage::WriteTxn& txn) {
    const auto kept_first = tasks.of_assignee(worker, TaskStatus::kOpen, std::nullopt, 1);
    if (kept_first.empty() || !listed.erase(txn, kept_first.front().id))
      return Status(base::Code::kInternal, "no listed open task of the worker to forget");
    return Status::ok();
  });
  BOOST_TEST_REQUIRE(forgotten.is_ok(), forgotten.to_string());
  BOOST_TEST(index_pages_match(TaskStatus::kOpen, 1) == kept);
  BOOST_TEST(index_pages_match(TaskStatus::kOpen, 100) >= 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::tracker
