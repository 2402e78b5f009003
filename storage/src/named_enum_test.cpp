// Named enums: an enum field is stored as its name, reads back as the
// enum, and a stored name the enum does not know is refused, not guessed.
#include "ates/storage/named_enum.hpp"

#include <boost/test/unit_test.hpp>

namespace ates::storage {
namespace {

enum class Light { kRed, kGreen };

struct WithEnum {
  std::string id;
  Light light = Light::kRed;
  MSGPACK_DEFINE(id, light)
};

// The same record as older code wrote it: the state as a string.
struct WithString {
  std::string id;
  std::string light;
  MSGPACK_DEFINE(id, light)
};

// Or a number where the name should be.
struct WithNumber {
  std::string id;
  int light = 1;
  MSGPACK_DEFINE(id, light)
};

template <class T>
std::string packed(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return {buffer.data(), buffer.size()};
}

template <class T>
T unpacked(const std::string& bytes) {
  return msgpack::unpack(bytes.data(), bytes.size()).get().as<T>();
}

}  // namespace
}  // namespace ates::storage

template <>
struct ates::storage::EnumNames<ates::storage::Light> {
  static constexpr std::array<std::pair<ates::storage::Light, std::string_view>, 2> kNames{
      {{ates::storage::Light::kRed, "red"}, {ates::storage::Light::kGreen, "green"}}};
};

namespace ates::storage {
namespace {

BOOST_AUTO_TEST_SUITE(named_enum)

BOOST_AUTO_TEST_CASE(names_both_ways) {
  BOOST_TEST(name_of(Light::kGreen) == "green");
  BOOST_TEST((enum_named<Light>("red") == Light::kRed));
  BOOST_TEST(!enum_named<Light>("Red").has_value());
  BOOST_TEST(!enum_named<Light>("").has_value());
}

BOOST_AUTO_TEST_CASE(stored_as_its_name_and_read_from_the_name) {
  const std::string bytes = packed(WithEnum{"a", Light::kGreen});
  const auto as_text = unpacked<WithString>(bytes);
  BOOST_TEST(as_text.light == "green");
  BOOST_TEST((unpacked<WithEnum>(packed(WithString{"b", "red"})).light == Light::kRed));
  BOOST_TEST((unpacked<WithEnum>(bytes).light == Light::kGreen));
}

BOOST_AUTO_TEST_CASE(an_unknown_or_mistyped_stored_value_is_refused) {
  BOOST_CHECK_THROW(unpacked<WithEnum>(packed(WithString{"c", "blue"})), msgpack::type_error);
  BOOST_CHECK_THROW(unpacked<WithEnum>(packed(WithNumber{"d", 1})), msgpack::type_error);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace ates::storage
