// Typed handling of events: a consumer names the event types it handles
// once, as the parameter types of its handlers, and each handler gets its
// payload decoded. It replaces the ladder of `if (name == X::kName)
// decode_payload<X>` in every consumer.
//
//   return protocol::dispatch(event,
//       [&](const TaskCreated& created) { … return Status::ok(); },
//       [&](const TaskCompleted& completed, const Envelope& envelope) { … });
//
// The handler whose first parameter's type has the envelope's name runs,
// with the payload decoded by decode_payload (name, version and schema
// checked): a payload that does not decode is the answer, invalid_argument,
// so a consumer's handler makes it a dead letter. An event no handler
// names is skipped with Status::ok() (consumers ignore what they do not
// need). A handler may take the envelope as its second parameter, and
// returns Status or nothing (then ok). Two handlers of one event type do
// not compile.
#pragma once

#include <type_traits>

#include "ates/protocol/events.hpp"

namespace ates::protocol {

namespace detail {

template <class F>
struct HandlerTraits : HandlerTraits<decltype(&std::remove_cvref_t<F>::operator())> {};
template <class C, class R, class A, class... Rest>
struct HandlerTraits<R (C::*)(A, Rest...) const> {
  using event = std::remove_cvref_t<A>;
};
template <class C, class R, class A, class... Rest>
struct HandlerTraits<R (C::*)(A, Rest...)> {
  using event = std::remove_cvref_t<A>;
};

template <class F>
using event_of = typename HandlerTraits<F>::event;

template <class First, class... Rest>
constexpr bool distinct() {
  if constexpr (sizeof...(Rest) == 0) {
    return true;
  } else {
    return (!std::is_same_v<First, Rest> && ...) && distinct<Rest...>();
  }
}

template <class Handler>
bool handle_if_named(const Envelope& envelope, Handler& handler, base::Status& result) {
  using Event = event_of<Handler>;
  if (envelope.name != Event::kName) return false;
  auto decoded = decode_payload<Event>(envelope);
  if (!decoded) {
    result = decoded.status();
    return true;
  }
  if constexpr (std::is_invocable_v<Handler&, const Event&, const Envelope&>) {
    using R = std::invoke_result_t<Handler&, const Event&, const Envelope&>;
    if constexpr (std::is_void_v<R>) {
      handler(*decoded, envelope);
    } else {
      result = handler(*decoded, envelope);
    }
  } else {
    using R = std::invoke_result_t<Handler&, const Event&>;
    if constexpr (std::is_void_v<R>) {
      handler(*decoded);
    } else {
      result = handler(*decoded);
    }
  }
  return true;
}

}  // namespace detail

template <class... Handlers>
base::Status dispatch(const Envelope& envelope, Handlers&&... handlers) {
  static_assert(sizeof...(Handlers) > 0, "dispatch needs a handler");
  static_assert(detail::distinct<detail::event_of<Handlers>...>(), "two handlers of one event type");
  base::Status result = base::Status::ok();
  (detail::handle_if_named(envelope, handlers, result) || ...);
  return result;
}

}  // namespace ates::protocol
