// States as enums in code and as their names on disk. A state kept in a
// table (a task "open" or "done", a day "waiting" or "closed") is an enum
// everywhere in the code, so no code compares strings and a switch over
// it is checked for completeness, while the stored MessagePack value stays
// the same string it always was: data written before the enum existed
// still reads, and tools that print a table still show words.
//
//   enum class TaskStatus { kOpen, kDone };
//   template <>
//   struct ates::storage::EnumNames<TaskStatus> {
//     static constexpr std::array<std::pair<TaskStatus, std::string_view>, 2> kNames{
//         {{TaskStatus::kOpen, "open"}, {TaskStatus::kDone, "done"}}};
//   };
//
// Then name_of(status) is "open", enum_named<TaskStatus>("done") is
// kDone (nothing for an unknown name), and a TaskStatus field of a
// MSGPACK_DEFINE struct is packed as its name. A stored name the enum does
// not know is corruption: reading it throws, as any undecodable value.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <msgpack.hpp>

namespace ates::storage {

// Specialise with `kNames`, every value and its name.
template <class E>
struct EnumNames;

template <class E, class = void>
struct IsNamedEnum : std::false_type {};
template <class E>
struct IsNamedEnum<E, std::void_t<decltype(EnumNames<E>::kNames)>> : std::is_enum<E> {};
template <class E>
inline constexpr bool kIsNamedEnum = IsNamedEnum<E>::value;

template <class E>
requires kIsNamedEnum<E>
constexpr std::string_view name_of(E value) {
  for (const auto& [each, name] : EnumNames<E>::kNames) {
    if (each == value) return name;
  }
  return "?";
}

template <class E>
requires kIsNamedEnum<E>
constexpr std::optional<E> enum_named(std::string_view name) {
  for (const auto& [each, each_name] : EnumNames<E>::kNames) {
    if (each_name == name) return each;
  }
  return std::nullopt;
}

}  // namespace ates::storage

// The adaptors have msgpack's names.
// NOLINTBEGIN(readability-identifier-naming)
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <class E>
  struct convert<E, std::enable_if_t<ates::storage::kIsNamedEnum<E>>> {
    const msgpack::object& operator()(const msgpack::object& object, E& value) const {
      if (object.type != msgpack::type::STR) throw msgpack::type_error();
      const auto known =
          ates::storage::enum_named<E>(std::string_view(object.via.str.ptr, object.via.str.size));
      if (!known) throw msgpack::type_error();
      value = *known;
      return object;
    }
  };

  template <class E>
  struct pack<E, std::enable_if_t<ates::storage::kIsNamedEnum<E>>> {
    template <class Stream>
    msgpack::packer<Stream>& operator()(msgpack::packer<Stream>& packer, const E& value) const {
      const std::string_view name = ates::storage::name_of(value);
      packer.pack_str(static_cast<std::uint32_t>(name.size()));
      packer.pack_str_body(name.data(), static_cast<std::uint32_t>(name.size()));
      return packer;
    }
  };

  template <class E>
  struct object_with_zone<E, std::enable_if_t<ates::storage::kIsNamedEnum<E>>> {
    void operator()(msgpack::object::with_zone& object, const E& value) const {
      const std::string_view name = ates::storage::name_of(value);
      object.type = msgpack::type::STR;
      object.via.str.ptr = name.data();  // a name of kNames: static storage
      object.via.str.size = static_cast<std::uint32_t>(name.size());
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
// NOLINTEND(readability-identifier-naming)
