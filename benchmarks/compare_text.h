// Text helpers of the comparison report (compare.cc): plain one-line text,
// Markdown-safe text, numbers with their units, and numbers for JSON.
//
// Thread safety: plain functions, no state.
#ifndef WEFT_BENCHMARKS_COMPARE_TEXT_H_
#define WEFT_BENCHMARKS_COMPARE_TEXT_H_

#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace weft_bench {

// Ordered: summary.json keeps its keys in the order they are written.
using Json = nlohmann::ordered_json;

std::string Join(const std::vector<std::string>& parts, const char* separator = ", ");

// `text` as one line of plain text: escape sequences (colours) and other
// control characters dropped, newlines as " / ".
std::string Plain(const std::string& text);

// `text` (see Plain) safe inside a Markdown table cell or list item: no
// '|' to split the cell, no '<...>' for a renderer to take for HTML, no
// backtick or '*' to start code or emphasis.
std::string Md(const std::string& text);

// `v` for people: unit "ns" ("910 ns", "1.19 µs", "2.00 ms"), "rate"
// ("1.67 M", "331.0 k"), else three significant figures; "—" when missing.
std::string Format(std::optional<double> v, const char* unit = "");

// `v` rounded to 6 significant digits (what the report can claim), null when
// missing or not finite.
Json JsonNumber(std::optional<double> v);

}  // namespace weft_bench

#endif  // WEFT_BENCHMARKS_COMPARE_TEXT_H_
