#include "ates/plugin_api/idempotency.hpp"

#include <future>

#include <boost/test/unit_test.hpp>

#include "ates/testing/temp_dir.hpp"

namespace ates::plugin_api {
namespace {

constexpr std::int64_t kStart = std::int64_t{1772528400} * 1'000'000;  // 2026-03-03T09:00:00Z

// An environment, an Idempotency over it with small limits on a manual
// clock, and a unit that counts how often it really ran.
struct Fixture {
  testing::TempDir dir;
  base::ManualClock clock{kStart};
  std::unique_ptr<storage::Environment> env;
  std::optional<Idempotency> idempotency;
  int ran = 0;

  explicit Fixture(IdempotencyLimits limits = {.max_per_user = 3, .sweep_per_store = 2}) {
    auto opened = storage::Environment::open(
        {.dir = dir / "env", .producer = "test", .map_size = std::size_t{1} << 28});
    BOOST_TEST_REQUIRE(opened.has_value(), opened.status().to_string());
    env = std::move(opened).value();
    limits.clock = &clock;
    idempotency.emplace(*env, limits);
  }

  static Request request(std::optional<std::string> user, std::optional<std::string> key,
                         std::string body = "{}") {
    Request r;
    r.method = Method::kPost;
    r.path = "/api/v1/tracker/tasks";
    r.body = std::move(body);
    if (key) r.headers["idempotency-key"] = *key;
    if (user) r.principal = Principal{*user, Role::kWorker};
    return r;
  }

  // Runs a request to its answer; each real run answers 201 {"run": n}.
  Response call(const Request& r) {
    std::promise<Response> answered;
    auto answer = answered.get_future();
    idempotency->run(
        *env, r, [&](Response response) { answered.set_value(std::move(response)); },
        [this](storage::WriteTxn&) -> base::Result<Response> {
          return Response::json(201, {{"run", ++ran}});
        });
    return answer.get();
  }

  std::uint64_t stored() const {
    storage::ReadTxn txn = env->read();
    return env->raw_table("idempotency").size(txn);
  }
  std::uint64_t indexed() const {
    storage::ReadTxn txn = env->read();
    return env->raw_table("idempotency_by_user").size(txn);
  }
  std::uint64_t count_of(const std::string& user) const {
    storage::ReadTxn txn = env->read();
    return idempotency->stored_count(txn, user);
  }
};

bool replayed(const Response& response) {
  for (const auto& [name, value] : response.headers) {
    if (name == "Idempotent-Replayed" && value == "true") return true;
  }
  return false;
}

BOOST_AUTO_TEST_SUITE(idempotency)

BOOST_AUTO_TEST_CASE(the_same_key_of_the_same_user_replays_and_another_body_is_409) {
  Fixture f;
  const auto first = f.call(Fixture::request("alice", "k1"));
  const auto again = f.call(Fixture::request("alice", "k1"));
  BOOST_TEST(first.status == 201);
  BOOST_TEST(again.body == first.body);
  BOOST_TEST(replayed(again));
  BOOST_TEST(f.ran == 1);
  const auto other = f.call(Fixture::request("alice", "k1", R"({"title":"other"})"));
  BOOST_TEST(other.status == 409);
  BOOST_TEST(f.ran == 1);
  // Another user's same key is another request.
  const auto bob = f.call(Fixture::request("bob", "k1"));
  BOOST_TEST(bob.status == 201);
  BOOST_TEST(!replayed(bob));
  BOOST_TEST(f.ran == 2);
  // remembered() sees what run() stored, for the rpc charge's first unit.
  storage::ReadTxn txn = f.env->read();
  const auto remembered = f.idempotency->remembered(txn, Fixture::request("alice", "k1"));
  BOOST_TEST_REQUIRE(remembered.has_value());
  BOOST_TEST_REQUIRE(remembered->has_value());
  BOOST_TEST((*remembered)->body == first.body);
}

BOOST_AUTO_TEST_CASE(an_anonymous_request_is_never_remembered_nor_replayed) {
  Fixture f;
  const auto first = f.call(Fixture::request(std::nullopt, "register-1"));
  const auto second = f.call(Fixture::request(std::nullopt, "register-1"));
  const auto other_body = f.call(Fixture::request(std::nullopt, "register-1", R"({"username":"other"})"));
  BOOST_TEST(f.ran == 3);
  BOOST_TEST(!replayed(second));
  BOOST_TEST(second.body != first.body);
  BOOST_TEST(other_body.status == 201);  // not a 409: nothing of the first was kept
  BOOST_TEST(f.stored() == 0u);
  storage::ReadTxn txn = f.env->read();
  BOOST_TEST(!f.idempotency->remembered(txn, Fixture::request(std::nullopt, "register-1")).has_value());
}

BOOST_AUTO_TEST_CASE(an_anonymous_answer_stored_before_is_never_replayed_and_is_swept) {
  Fixture f;
  // What an older version stored under the empty user id.
  BOOST_TEST_REQUIRE(f.env
                         ->run([&](storage::WriteTxn& txn) {
                           f.env->table<StoredAnswer>("idempotency")
                               .put(txn, std::string("\0k", 2),
                                    StoredAnswer{0, kStart, 201, "application/json", R"({"secret":true})"});
                           return base::Status::ok();
                         })
                         .is_ok());
  const auto anonymous = f.call(Fixture::request(std::nullopt, "k"));
  BOOST_TEST(anonymous.body.find("secret") == std::string::npos);
  BOOST_TEST(!replayed(anonymous));
  f.clock.advance(Idempotency::kWindowUs);
  f.call(Fixture::request("alice", "a"));  // a store sweeps
  BOOST_TEST(f.stored() == 1u);
}

BOOST_AUTO_TEST_CASE(a_key_of_the_wrong_size_is_400_even_anonymous) {
  Fixture f;
  for (const std::optional<std::string>& user :
       {std::optional<std::string>("alice"), std::optional<std::string>()}) {
    BOOST_TEST(f.call(Fixture::request(user, "")).status == 400);
    BOOST_TEST(f.call(Fixture::request(user, std::string(256, 'k'))).status == 400);
    BOOST_TEST(f.call(Fixture::request(user, std::string(255, 'k'))).status == 201);
  }
  BOOST_TEST(f.ran == 2);
}

BOOST_AUTO_TEST_CASE(a_user_keeps_at_most_the_cap_and_the_oldest_goes_first) {
  Fixture f;  // at most 3 per user
  for (int i = 1; i <= 4; ++i) {
    f.clock.advance(1);
    BOOST_TEST(f.call(Fixture::request("alice", "k" + std::to_string(i))).status == 201);
  }
  f.call(Fixture::request("bob", "k1"));
  BOOST_TEST(f.ran == 5);
  BOOST_TEST(f.count_of("alice") == 3u);
  BOOST_TEST(f.count_of("bob") == 1u);
  BOOST_TEST(f.stored() == 4u);
  BOOST_TEST(f.indexed() == 4u);
  // k1 was alice's oldest: forgotten, so it runs again (and is stored again,
  // forgetting k2); k4 is still answered from memory; bob kept his.
  BOOST_TEST(!replayed(f.call(Fixture::request("alice", "k1"))));
  BOOST_TEST(f.ran == 6);
  BOOST_TEST(replayed(f.call(Fixture::request("alice", "k4"))));
  BOOST_TEST(replayed(f.call(Fixture::request("bob", "k1"))));
  BOOST_TEST(!replayed(f.call(Fixture::request("alice", "k2"))));
  BOOST_TEST(f.count_of("alice") == 3u);
}

BOOST_AUTO_TEST_CASE(expired_answers_are_not_replayed_and_are_swept_a_few_per_store) {
  Fixture f({.max_per_user = 1000, .sweep_per_store = 2});
  for (int i = 0; i < 10; ++i)
    f.call(Fixture::request("user-" + std::to_string(i % 3), "k" + std::to_string(i)));
  BOOST_TEST(f.stored() == 10u);
  f.clock.advance(Idempotency::kWindowUs);

  // An expired key runs again; storing it replaces the old answer.
  BOOST_TEST(!replayed(f.call(Fixture::request("user-0", "k0"))));
  BOOST_TEST(f.ran == 11);
  // Each store looks at two more answers: the ten expired go a few at a
  // time, never all in one transaction.
  int stores = 0;
  while (f.stored() > static_cast<std::uint64_t>(1 + stores) && stores < 50) {
    const std::uint64_t previous = f.stored();
    f.call(Fixture::request("fresh", "f" + std::to_string(stores++)));
    BOOST_TEST(f.stored() + 1 >= previous);  // one added, at most two deleted
  }
  BOOST_TEST(f.stored() == static_cast<std::uint64_t>(1 + stores));  // k0 again, and the fresh ones
  BOOST_TEST(stores <= 12);
  BOOST_TEST(f.count_of("user-0") == 1u);
  BOOST_TEST(f.count_of("user-1") == 0u);
  BOOST_TEST(f.count_of("user-2") == 0u);
  BOOST_TEST(f.indexed() == f.stored());
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::plugin_api
