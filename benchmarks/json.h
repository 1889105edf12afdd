// A minimal JSON reader for Google Benchmark's --benchmark_out files: the
// compare driver needs the benchmarks' names, counters and error fields.
//
//   std::optional<json::Value> v = json::Parse(text);
//   for (const json::Value& b : (*v)["benchmarks"].array) ...
//
// Thread safety: thread-compatible values.
#ifndef WEFT_BENCHMARKS_JSON_H_
#define WEFT_BENCHMARKS_JSON_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace json {

struct Value {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Value> array;
  std::map<std::string, Value> object;

  // The member `key` of an object, or a null value.
  const Value& operator[](const std::string& key) const;
  bool has(const std::string& key) const { return object.count(key) != 0; }
};

// nullopt on malformed input.
std::optional<Value> Parse(std::string_view text);

// `s` as a JSON string literal, quotes included.
std::string Quote(std::string_view s);

}  // namespace json

#endif  // WEFT_BENCHMARKS_JSON_H_
