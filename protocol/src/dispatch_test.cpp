// protocol::dispatch: the handler of the envelope's type runs with its
// payload, others do not; unknown names pass; a bad payload is the answer.
#include "ates/protocol/dispatch.hpp"

#include <boost/test/unit_test.hpp>

#include "test_support.hpp"

namespace ates::protocol {

using base::Code;
using base::Status;

namespace {

const std::string kTask = "5f0c2f7e-6a7b-4c1d-9e2f-3a4b5c6d7e8f";
const std::string kUser = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";

BOOST_AUTO_TEST_SUITE(dispatch_events)

BOOST_AUTO_TEST_CASE(the_handler_of_the_events_type_runs_with_its_payload) {
  const auto envelope = test::envelope_of(TaskCompleted{.task_id = kTask, .assignee_id = kUser}, 7);
  std::string seen;
  const Status status = dispatch(
      envelope, [&](const TaskCreated&) { seen += "created"; },
      [&](const TaskCompleted& completed, const Envelope& e) {
        seen += completed.task_id + "/" + completed.assignee_id + "@" + std::to_string(e.seq);
        return Status::ok();
      });
  BOOST_TEST(status.is_ok());
  BOOST_TEST(seen == kTask + "/" + kUser + "@7");
}

BOOST_AUTO_TEST_CASE(the_handlers_answer_is_the_answer) {
  const auto envelope = test::envelope_of(TaskCompleted{.task_id = kTask, .assignee_id = kUser});
  const Status status =
      dispatch(envelope, [](const TaskCompleted&) { return Status(Code::kConflict, "already paid"); });
  BOOST_TEST(status.code() == Code::kConflict);
  BOOST_TEST(status.message() == "already paid");
}

BOOST_AUTO_TEST_CASE(an_event_no_handler_names_is_skipped) {
  const auto envelope = test::envelope_of(TaskCompleted{.task_id = kTask, .assignee_id = kUser});
  bool ran = false;
  BOOST_TEST(dispatch(envelope, [&](const TaskCreated&) { ran = true; }).is_ok());
  BOOST_TEST(!ran);
}

// The worst producer: the right name over a payload of another shape, or
// an unknown version. The handler never runs; the consumer gets
// invalid_argument (a dead letter), not a default-filled event.
BOOST_AUTO_TEST_CASE(a_payload_that_does_not_decode_is_refused_before_the_handler) {
  auto envelope = test::envelope_of(TaskCompleted{.task_id = kTask, .assignee_id = kUser});
  envelope.payload = encode_payload(TaskCreated{.task_id = kTask, .title = "x", .created_by = kUser});
  bool ran = false;
  const Status wrong_shape = dispatch(envelope, [&](const TaskCompleted&) { ran = true; });
  BOOST_TEST(wrong_shape.code() == Code::kInvalidArgument);
  envelope = test::envelope_of(TaskCompleted{.task_id = kTask, .assignee_id = kUser});
  envelope.version = 9;
  const Status unknown_version = dispatch(envelope, [&](const TaskCompleted&) { ran = true; });
  BOOST_TEST(unknown_version.code() == Code::kInvalidArgument);
  BOOST_TEST(!ran);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::protocol
