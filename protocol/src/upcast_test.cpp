#include "ates/protocol/upcast.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

namespace ates::protocol {

using base::Result;

namespace {

const std::string kTask = "11111111-1111-4111-8111-111111111111";
const std::string kUser = "22222222-2222-4222-8222-222222222222";

TaskCreated upcast_title(const std::string& title) {
  return upcast(TaskCreatedV1{.task_id = kTask, .title = title, .created_by = kUser});
}

BOOST_AUTO_TEST_SUITE(upcaster)

BOOST_AUTO_TEST_CASE(v1_title_splits_into_jira_id_and_title) {
  const TaskCreated v2 = upcast_title("[UBERPOP-42] Feed the popugs");
  BOOST_TEST(v2.jira_id.value_or("") == "UBERPOP-42");
  BOOST_TEST(v2.title == "Feed the popugs");
  BOOST_TEST(v2.description == "");
  BOOST_TEST(v2.task_id == kTask);
  BOOST_TEST(v2.created_by == kUser);
}

BOOST_AUTO_TEST_CASE(v1_edge_cases_give_valid_v2) {
  BOOST_TEST(!upcast_title("Plain title").jira_id.has_value());
  BOOST_TEST(upcast_title("Plain title").title == "Plain title");
  // Not a jira id inside the brackets: kept in the title, brackets dropped.
  const TaskCreated odd = upcast_title("[todo] tidy [up]");
  BOOST_TEST(!odd.jira_id.has_value());
  BOOST_TEST(odd.title == "todo tidy up");
  BOOST_TEST(upcast_title("[AB-7]").title == "AB-7");
  BOOST_TEST(upcast_title(std::string(250, 'x')).title.size() == 200u);
}

BOOST_AUTO_TEST_CASE(envelope_upcast_moves_to_v2_and_keeps_identity) {
  const Envelope v1 = test::envelope_of(
      TaskCreatedV1{.task_id = kTask, .title = "[UBERPOP-42] Feed", .created_by = kUser}, 5);
  const Result<Envelope> up = upcast(v1);
  BOOST_TEST_REQUIRE(up.has_value());
  BOOST_TEST(up->version == 2u);
  BOOST_TEST(up->seq == 5u);
  BOOST_TEST(up->event_id == v1.event_id);
  BOOST_TEST(validate_event(*up).is_ok());
  const Result<TaskCreated> v2 = decode_payload<TaskCreated>(*up);
  BOOST_TEST_REQUIRE(v2.has_value());
  BOOST_TEST(v2->title == "Feed");

  // The latest version passes through untouched.
  const Envelope latest = test::envelope_of(*v2, 6);
  BOOST_TEST((*upcast(latest) == latest));
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
