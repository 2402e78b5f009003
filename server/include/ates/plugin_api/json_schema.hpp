// JSON Schema for the HTTP contract: a builder for the schemas a route
// declares beside its handler, and the validator the host runs on every
// request against them (docs/api.md, "The contract").
//
// Only the subset that JSON Schema draft-07 and 2020-12 read alike is made
// or checked: type (one name, or one name and "null"), properties,
// required, additionalProperties: false, items, minItems, maxItems, enum,
// minimum, maximum, minLength, maxLength, $ref to a component, and the
// annotations title, description, format and examples. So the OpenAPI 3.1
// document (2020-12) and any draft-07 tool read the same schemas, and our
// validator needs nothing that Debian lacks.
//
// Two choices stricter than JSON Schema, both on purpose: an integer is a
// JSON number written without a fraction or exponent (1.0 is not an
// integer here), and objects are closed (additionalProperties: false)
// unless opened, so a misspelt field is an error, not silently ignored.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace ates::plugin_api {

class Schema {
 public:
  // Accepts any JSON value.
  Schema() : json_(nlohmann::json::object()) {}
  explicit Schema(nlohmann::json json) : json_(std::move(json)) {}

  static Schema string() { return typed("string"); }
  static Schema integer() { return typed("integer"); }
  static Schema boolean() { return typed("boolean"); }
  static Schema array(const Schema& items) {
    Schema schema = typed("array");
    schema.json_["items"] = items.json_;
    return schema;
  }
  // A closed object: `properties`, the required ones listed; any other
  // field is an error.
  static Schema object(const std::vector<std::pair<std::string, Schema>>& required,
                       const std::vector<std::pair<std::string, Schema>>& optional = {}) {
    Schema schema = typed("object");
    nlohmann::json properties = nlohmann::json::object();
    nlohmann::json names = nlohmann::json::array();
    for (const auto& [name, property] : required) {
      properties[name] = property.json_;
      names.push_back(name);
    }
    for (const auto& [name, property] : optional) properties[name] = property.json_;
    schema.json_["properties"] = std::move(properties);
    if (!names.empty()) schema.json_["required"] = std::move(names);
    schema.json_["additionalProperties"] = false;
    return schema;
  }
  // A string of one of `values`.
  static Schema one_of(const std::vector<std::string>& values) {
    Schema schema = string();
    schema.json_["enum"] = values;
    return schema;
  }
  // The same schema under components/schemas/<name> of the OpenAPI
  // document (the document hoists titled schemas there).
  static Schema ref(std::string_view name) {
    return Schema(nlohmann::json{{"$ref", "#/components/schemas/" + std::string(name)}});
  }

  // Common shapes of docs/api.md.
  static Schema uuid() { return string().format("uuid").min_length(36).max_length(36); }
  static Schema day() { return string().format("date").min_length(10).max_length(10); }
  static Schema time() { return string().format("date-time"); }
  static Schema cents() { return integer().describe("an amount in cents"); }
  static Schema cursor() {
    return string().min_length(1).max_length(256).describe("the next of an earlier page");
  }

  Schema min_length(std::int64_t n) const { return with("minLength", n); }
  Schema max_length(std::int64_t n) const { return with("maxLength", n); }
  Schema minimum(std::int64_t n) const { return with("minimum", n); }
  Schema maximum(std::int64_t n) const { return with("maximum", n); }
  Schema min_items(std::int64_t n) const { return with("minItems", n); }
  Schema max_items(std::int64_t n) const { return with("maxItems", n); }
  Schema format(std::string_view name) const { return with("format", name); }
  Schema describe(std::string_view text) const { return with("description", text); }
  // Names the schema: the OpenAPI document lists it once, as a component.
  Schema titled(std::string_view name) const { return with("title", name); }
  Schema example(nlohmann::json value) const {
    return with("examples", nlohmann::json::array({std::move(value)}));
  }
  // Also null (type: [T, "null"]).
  Schema nullable() const {
    Schema schema = *this;
    auto& type = schema.json_["type"];
    if (type.is_string()) type = nlohmann::json::array({type, "null"});
    return schema;
  }
  // An object that may hold fields beyond its properties (a map of names
  // the server does not know in advance, such as plugin names).
  Schema open() const { return with("additionalProperties", true); }
  // A map from names to `values`.
  static Schema map_of(const Schema& values) {
    Schema schema = typed("object");
    schema.json_["additionalProperties"] = values.json_;
    return schema;
  }

  const nlohmann::json& json() const { return json_; }

 private:
  static Schema typed(std::string_view type) { return Schema(nlohmann::json{{"type", type}}); }
  template <class T>
  Schema with(const char* key, T&& value) const {
    Schema schema = *this;
    schema.json_[key] = std::forward<T>(value);
    return schema;
  }

  nlohmann::json json_;
};

// ---- the validator ------------------------------------------------------------------

namespace json_schema_detail {

// Code points of UTF-8 text (JSON Schema counts those); -1 when invalid.
inline std::int64_t code_points(std::string_view text) {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = byte < 0x80           ? 1
                               : (byte >> 5) == 0x6  ? 2
                               : (byte >> 4) == 0xe  ? 3
                               : (byte >> 3) == 0x1e ? 4
                                                     : 0;
    if (length == 0 || i + length > text.size()) return -1;
    i += length;
    ++count;
  }
  return count;
}

inline bool has_type(const nlohmann::json& value, std::string_view type) {
  if (type == "null") return value.is_null();
  if (type == "boolean") return value.is_boolean();
  if (type == "string") return value.is_string();
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "array") return value.is_array();
  if (type == "object") return value.is_object();
  return false;
}

inline std::string article(std::string_view type) {
  if (type == "integer" || type == "array" || type == "object") return "an " + std::string(type);
  if (type == "null") return "null";
  return "a " + std::string(type);
}

inline std::string at(std::string_view where, std::string_view what) {
  return where.empty() ? std::string(what) : std::string(where) + ": " + std::string(what);
}

inline std::string child(std::string_view where, std::string_view name) {
  return where.empty() ? std::string(name) : std::string(where) + "." + std::string(name);
}

// Depth bounds a schema that refers to itself.
inline std::optional<std::string> check(const nlohmann::json& schema, const nlohmann::json& value,
                                        const std::string& where, const nlohmann::json* root, int depth) {
  if (depth > 32) return at(where, "the schema nests too deeply");
  if (!schema.is_object()) return std::nullopt;
  if (const auto ref = schema.find("$ref"); ref != schema.end()) {
    const std::string prefix = "#/components/schemas/";
    const std::string target = ref->is_string() ? ref->get<std::string>() : std::string();
    if (root == nullptr || !target.starts_with(prefix)) return at(where, "unresolvable $ref " + target);
    const auto pointer = nlohmann::json::json_pointer("/components/schemas/" + target.substr(prefix.size()));
    if (!root->contains(pointer)) return at(where, "unresolvable $ref " + target);
    return check(root->at(pointer), value, where, root, depth + 1);
  }
  if (const auto type = schema.find("type"); type != schema.end()) {
    bool matches = false;
    std::string wanted;
    if (type->is_string()) {
      matches = has_type(value, type->get<std::string>());
      wanted = article(type->get<std::string>());
    } else {
      for (const auto& one : *type) {
        matches = matches || has_type(value, one.get<std::string>());
        wanted += (wanted.empty() ? "" : " or ") + article(one.get<std::string>());
      }
    }
    if (!matches) return at(where, "must be " + wanted);
  }
  if (const auto values = schema.find("enum"); values != schema.end()) {
    if (std::find(values->begin(), values->end(), value) == values->end()) {
      std::string list;
      for (const auto& one : *values) list += (list.empty() ? "" : ", ") + one.dump();
      return at(where, "must be one of " + list);
    }
  }
  if (value.is_string()) {
    const std::int64_t length = code_points(value.get_ref<const std::string&>());
    if (length < 0) return at(where, "must be valid UTF-8");
    if (const auto min = schema.find("minLength"); min != schema.end() && length < min->get<std::int64_t>())
      return at(where, min->get<std::int64_t>() == 1 ? std::string("must not be empty")
                                                     : "at least " + min->dump() + " characters");
    if (const auto max = schema.find("maxLength"); max != schema.end() && length > max->get<std::int64_t>())
      return at(where, "at most " + max->dump() + " characters");
  }
  if (value.is_number_integer()) {
    // Compared as the JSON text was: an unsigned beyond int64 is above any
    // bound we declare.
    const bool huge = value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX;
    const std::int64_t number = huge ? INT64_MAX : value.get<std::int64_t>();
    if (const auto min = schema.find("minimum");
        min != schema.end() && !huge && number < min->get<std::int64_t>())
      return at(where, "must be at least " + min->dump());
    if (const auto max = schema.find("maximum");
        max != schema.end() && (huge || number > max->get<std::int64_t>()))
      return at(where, "must be at most " + max->dump());
  }
  if (value.is_array()) {
    const auto size = static_cast<std::int64_t>(value.size());
    if (const auto min = schema.find("minItems"); min != schema.end() && size < min->get<std::int64_t>())
      return at(where, "at least " + min->dump() + " items");
    if (const auto max = schema.find("maxItems"); max != schema.end() && size > max->get<std::int64_t>())
      return at(where, "at most " + max->dump() + " items");
    if (const auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        auto error = check(*items, value[i], where + "[" + std::to_string(i) + "]", root, depth + 1);
        if (error) return error;
      }
    }
  }
  if (value.is_object()) {
    // The fields given first, then the ones missing: a field of the wrong
    // type is the more useful error.
    const auto properties = schema.find("properties");
    const auto additional = schema.find("additionalProperties");
    for (const auto& [name, field] : value.items()) {
      if (properties != schema.end() && properties->contains(name)) {
        auto error = check(properties->at(name), field, child(where, name), root, depth + 1);
        if (error) return error;
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>())
          return at(child(where, name), "unknown field");
        if (additional->is_object()) {
          auto error = check(*additional, field, child(where, name), root, depth + 1);
          if (error) return error;
        }
      }
    }
    if (const auto required = schema.find("required"); required != schema.end()) {
      for (const auto& name : *required) {
        if (!value.contains(name.get<std::string>()))
          return at(child(where, name.get<std::string>()), "required");
      }
    }
  }
  return std::nullopt;
}

}  // namespace json_schema_detail

// The first way `value` breaks `schema`, as "<where>: <what>" (where is a
// field path such as "tasks[2].title"); nullopt when it conforms. `root`
// resolves "#/components/schemas/…" references (the OpenAPI document); a
// schema built with Schema has none.
inline std::optional<std::string> validate(const nlohmann::json& schema, const nlohmann::json& value,
                                           const std::string& where = {},
                                           const nlohmann::json* root = nullptr) {
  return json_schema_detail::check(schema, value, where, root, 0);
}
inline std::optional<std::string> validate(const Schema& schema, const nlohmann::json& value,
                                           const std::string& where = {}) {
  return validate(schema.json(), value, where);
}

}  // namespace ates::plugin_api
